import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, expect, it } from 'vitest';
import { lambdaInvokeTask } from '../../sandbox/lambda-invoke.ts';
import { fleetDefinition, runLocally } from '../../sandbox/run-fleet.ts';
import { formatInventory, runInventory } from '../../scripts/inventory.ts';
import { lambdaContext } from '../support/events.ts';
import { STAGE } from './harness.ts';
import { invokeInMode, useSuite } from './suite.ts';

// `npm run inventory`: the clusters a stage already manages (its secrets' names and tags, from
// ListSecrets alone) as a fleet inventory, which the fleet state machine then reads.

const suite = useSuite();
const { FUNCTIONS_BY_PROVIDER } = createRequire(import.meta.url)('../../deploy/functions.cjs') as {
  FUNCTIONS_BY_PROVIDER: Record<string, { function: string }>;
};
const PROVIDERS = Object.keys(FUNCTIONS_BY_PROVIDER);
const FUNCTION_OF_PROVIDER: Record<string, string> = Object.fromEntries(
  Object.entries(FUNCTIONS_BY_PROVIDER).map(([id, { function: logicalId }]) => [id, logicalId]),
);
const rotated: Record<string, string> = {};

const cli = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInventory(
    args,
    { ...process.env, ...suite.sandbox.env },
    {
      out: (text) => out.push(text),
      err: (text) => err.push(text),
    },
  );
  return { code, stdout: out.join(''), stderr: err.join('\n') };
};

beforeAll(async () => {
  for (const providerId of PROVIDERS) {
    const { id } = suite.cluster(providerId);
    const answer = await invokeInMode(suite.handler(providerId), 'direct', {
      envelope: { provider: providerId, region: suite.harness(providerId).region, clusterId: id },
      httpEvent: () => undefined,
    });
    expect(answer).toMatchObject({ ok: true });
    rotated[providerId] = id;
  }
}, 60_000);

it("lists the stage's managed clusters as JSON Lines targets, each naming its secret, and no value", async () => {
  const { code, stdout, stderr } = await cli(['--stage', STAGE]);
  expect(code).toBe(0);
  const targets = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  for (const providerId of PROVIDERS) {
    expect(targets).toContainEqual(
      expect.objectContaining({
        provider: providerId,
        region: suite.harness(providerId).region,
        clusterId: rotated[providerId],
        secretId: suite.secretName(providerId, rotated[providerId] as string),
      }),
    );
  }
  expect(stderr).toMatch(/inventory: \d+ cluster\(s\) under /);
  // Names and tags only: no password of a rotated cluster anywhere.
  for (const providerId of PROVIDERS) {
    const password = suite.harness(providerId).clusterPassword(rotated[providerId] as string) as string;
    expect(stdout + stderr).not.toContain(password);
  }
  // One provider, as CSV.
  const csv = await cli(['--stage', STAGE, '--provider', 'otc-css', '--format', 'csv']);
  const [header, ...rows] = csv.stdout.trim().split('\n');
  expect(header?.split(',')).toEqual(expect.arrayContaining(['provider', 'region', 'clusterId', 'secretId']));
  expect(rows.every((row) => row.startsWith('otc-css,'))).toBe(true);
});

it('feeds the fleet state machine: a fleet-wide dry run over the inventory checks every managed cluster', async () => {
  const { stdout } = await cli(['--stage', STAGE]);
  const file = join(await mkdtemp(join(tmpdir(), 'inventory-')), 'fleet.jsonl');
  await writeFile(file, stdout);
  const handlers = Object.fromEntries(
    Object.entries(FUNCTION_OF_PROVIDER).map(([providerId, fn]) => [
      fn,
      lambdaInvokeTask((payload) => suite.handler(providerId)(payload, lambdaContext())),
    ]),
  );
  const run = await runLocally(
    await fleetDefinition('local'),
    { dryRun: true, inventory: { key: file, format: 'JSONL' } },
    handlers,
  );
  expect(run.failed).toEqual([]);
  expect(run.succeeded.length).toBe(stdout.trim().split('\n').length);
  expect(run.succeeded.every((r) => r.dryRun === true)).toBe(true);
}, 60_000);

it('asks ListSecrets for the prefix and the managed-by tag only, and says why it failed', async () => {
  const mock = mockClient(SecretsManagerClient);
  try {
    mock
      .on(ListSecretsCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const { code, stdout, stderr } = await cli(['--stage', 'prod', '--region', 'eu-central-1']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('secretsmanager:ListSecrets');
    expect(mock.commandCalls(ListSecretsCommand)[0]?.args[0].input).toEqual({
      Filters: [
        { Key: 'name', Values: ['cluster-password-reset/prod/'] },
        { Key: 'tag-key', Values: ['managed-by'] },
        { Key: 'tag-value', Values: ['cluster-password-reset'] },
      ],
    });
  } finally {
    mock.restore();
  }
});

it('writes CSV with only the columns every row fills, quoting what needs it', () => {
  expect(
    formatInventory(
      [
        { provider: 'otc-css', region: 'eu-de', clusterId: 'a', projectId: 'p', secretId: 's,1' },
        { provider: 'otc-css', region: 'eu-de', clusterId: 'b', secretId: 's2' },
      ],
      'csv',
    ),
  ).toBe('provider,region,clusterId,secretId\notc-css,eu-de,a,"s,1"\notc-css,eu-de,b,s2\n');
});
