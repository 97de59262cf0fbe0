import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, parseFleetInput, readInventory } from '../../sandbox/fleet-input.ts';

// A fleet file that cannot surprise: `npm run fleet` refuses, before anything runs (and before it
// even looks for `npm start`), what would not do what it says, naming the file and the place.

const exec = promisify(execFile);
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-input-'));
});

/** The runner on a file of this content, pointed at a port where nothing listens. */
const runFleet = async (content: string, args: string[] = [], name = 'fleet.json') => {
  const file = join(dir, name);
  await writeFile(file, content);
  const argv = name.endsWith('.json') ? [file, ...args] : ['--inventory', file, ...args];
  return exec(process.execPath, ['sandbox/run-fleet.ts', ...argv], {
    env: { ...process.env, OFFLINE_LAMBDA_PORT: '1' },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr, file }),
    (error: { code: number; stdout: string; stderr: string }) => ({ ...error, file }),
  );
};

const target = { provider: 'otc-css', region: 'eu-de', clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3' };

describe('npm run fleet refuses, before anything runs', () => {
  it.each([
    [
      'a bare list',
      JSON.stringify([target]),
      '(input) must be a JSON object like { "targets": [ … ] }, not a list',
    ],
    ['no targets', JSON.stringify({ dryRun: true }), 'targets is required'],
    ['an empty targets', JSON.stringify({ targets: [] }), 'targets must hold at least one target'],
    ['a misspelt targets', JSON.stringify({ target: [target] }), 'target is not a field of a fleet input'],
    ['a misspelt option', JSON.stringify({ dryrun: true, targets: [target] }), 'dryrun is not a field'],
    [
      'a dryRun that is not a boolean',
      JSON.stringify({ dryRun: 'yes', targets: [target] }),
      'dryRun must be true or false',
    ],
    [
      'a password',
      JSON.stringify({ targets: [{ ...target, password: 'Plain-text1!' }] }),
      'targets[0].password must not be in a fleet input',
    ],
    [
      'an option both fleet-wide and in a target',
      JSON.stringify({ dryRun: true, targets: [target, { ...target, dryRun: false }] }),
      'targets[1].dryRun is already set for the whole fleet',
    ],
    [
      'an unknown provider',
      JSON.stringify({ targets: [{ ...target, provider: 'azure' }] }),
      'targets[0].provider must be one of',
    ],
  ])('%s', async (_, content, message) => {
    const { code, stdout, stderr, file } = await runFleet(content);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(`run-fleet: ${file}: `);
    expect(stderr).toContain(message);
    // Refused before it looked for the Lambda API.
    expect(stderr).not.toContain('npm start');
    expect(stderr).not.toContain('Plain-text1!');
  });

  it('bad JSON, with the file name, the line and the column', async () => {
    const { code, stderr, file } = await runFleet(
      '{\n  "targets": [\n    { "provider": "otc-css", }\n  ]\n}\n',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^run-fleet: ${file}: not valid JSON: .*line 3 column 30`));
  });

  it('an inventory line that is not a target, by its line number', async () => {
    const lines = [JSON.stringify(target), JSON.stringify({ ...target, clusterid: 'x' })].join('\n');
    const { code, stderr, file } = await runFleet(lines, [], 'fleet.jsonl');
    expect(code).toBe(1);
    expect(stderr).toContain(`${file}:2: clusterid is not a field of a fleet input`);
  });
});

describe('npm run fleet -- --check', () => {
  it('prints the input the state machine gets, with the command-line options applied to every target', async () => {
    const { code, stdout } = await runFleet(JSON.stringify({ targets: [target] }), ['--check', '--dry-run']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ dryRun: true, targets: [target] });
  });

  it('takes an inventory (CSV) and names it for the state machine', async () => {
    const { code, stdout, file } = await runFleet(
      'provider,region,clusterId\notc-css,eu-de,4f3deec3-efa8-4598-bf91-560aad1377a3\n',
      ['--check', '--account', 'ops'],
      'fleet.csv',
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ account: 'ops', inventory: { key: file, format: 'CSV' } });
  });
});

describe('the fleet schema', () => {
  it('accepts an inventory input and a targets input, nothing in between', () => {
    expect(parseFleetInput('x', { inventory: { key: 'inventory/a.jsonl', format: 'JSONL' } })).toEqual({
      inventory: { key: 'inventory/a.jsonl', format: 'JSONL' },
    });
    expect(() => parseFleetInput('x', { targets: [target], inventory: { key: 'a', format: 'CSV' } })).toThrow(
      /inventory is not a field of a fleet input/,
    );
  });

  it('reads CSV as Step Functions does: a header row, quoted fields, CRLF', async () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n1,\n')).toEqual([
      { a: 'x, y', b: 'say "hi"' },
      { a: '1', b: '' },
    ]);
    const file = join(dir, 'empty-cell.csv');
    await writeFile(file, 'provider,region,clusterId,projectId\notc-css,eu-de,abc,\n');
    // An empty cell is an empty string, which no envelope field accepts: leave the column out.
    await expect(readInventory(file, 'CSV')).rejects.toThrow(`${file}:2: projectId must not be empty`);
  });
});
