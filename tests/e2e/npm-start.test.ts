import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

// `npm start` as a user runs it, then the README's example commands exactly as written, only with
// the ports moved to free ones so that the test never collides with a developer's own npm start.

const exec = promisify(execFile);
let server: ChildProcess;
let logs = '';
const ports: Record<string, number> = {};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const readmeCommands = async (): Promise<string[]> => {
  const readme = await readFile('README.md', 'utf8');
  const block = /<!-- readme-example:start -->\s*```sh\n([\s\S]*?)```\s*<!-- readme-example:end -->/.exec(
    readme,
  );
  if (!block?.[1]) throw new Error('README example block not found');
  return block[1]
    .trim()
    .split('\n')
    .map((line) => line.replaceAll(':3000/', `:${ports.http}/`).replaceAll(':4566/', `:${ports.aws}/`));
};

beforeAll(async () => {
  for (const name of ['http', 'lambda', 'aws', 'ncloud', 'otc', 'dynamodb']) ports[name] = await freePort();
  server = spawn('npm', ['start'], {
    env: {
      ...process.env,
      OFFLINE_HTTP_PORT: String(ports.http),
      OFFLINE_LAMBDA_PORT: String(ports.lambda),
      SANDBOX_AWS_PORT: String(ports.aws),
      SANDBOX_NCLOUD_PORT: String(ports.ncloud),
      SANDBOX_OTC_PORT: String(ports.otc),
      SANDBOX_DYNAMODB_PORT: String(ports.dynamodb),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  server.stdout?.on('data', (chunk) => {
    logs += String(chunk);
  });
  server.stderr?.on('data', (chunk) => {
    logs += String(chunk);
  });
  const deadline = Date.now() + 90_000;
  while (!logs.includes('Server ready')) {
    if (Date.now() > deadline || server.exitCode !== null)
      throw new Error(`npm start did not come up:\n${logs}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(async () => {
  if (server?.pid) process.kill(-server.pid, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
});

const sh = (command: string) => exec('sh', ['-c', command]).then(({ stdout }) => JSON.parse(stdout));

it.each([
  ['ncloud-cdss', 0],
  ['otc-css', 3],
])(
  "runs the README's %s commands as written: reset, then cluster password == AWSCURRENT",
  async (provider, at) => {
    const [reset, showCluster, showSecret] = (await readmeCommands()).slice(at, at + 3);
    const result = await sh(reset as string);
    expect(result).toMatchObject({ ok: true, provider, password: { source: 'generated', stored: true } });
    const cluster = await sh(showCluster as string);
    const secret = await sh(showSecret as string);
    expect(cluster.password).toEqual(expect.any(String));
    expect(secret.password).toBe(cluster.password);
    expect(JSON.stringify(result)).not.toContain(cluster.password);
    expect(logs).not.toContain(cluster.password);
    // The same key again: the same answer, and no second reset.
    expect(await sh(reset as string)).toEqual(result);
    expect((await sh(showCluster as string)).password).toBe(cluster.password);
  },
  60_000,
);
