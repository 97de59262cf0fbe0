import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO } from '../../sandbox/demo.ts';
import { recordText, trackSecret } from '../support/leak-scan.ts';

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

/**
 * The commands of a README block, with the ports moved to this test's own: as `npm start` prints
 * them (`printed`), or ready to run here.
 */
const readmeCommands = async (block = 'readme-example', printed = false): Promise<string[]> => {
  const readme = await readFile('README.md', 'utf8');
  const start = readme.indexOf(`<!-- ${block}:start -->`);
  const end = readme.indexOf(`<!-- ${block}:end -->`);
  const body = /```sh\n([\s\S]*?)```/.exec(readme.slice(start, end))?.[1];
  if (start < 0 || end < 0 || !body) throw new Error(`README block ${block} not found`);
  return body
    .trim()
    .split('\n')
    .map((line) =>
      line
        .replaceAll(':3000/', `:${ports.http}/`)
        .replaceAll(':4566/', `:${ports.aws}/`)
        .replace(/^npm run --silent fleet/, `OFFLINE_LAMBDA_PORT=${ports.lambda} npm run --silent fleet`),
    );
};

beforeAll(async () => {
  for (const name of ['http', 'lambda', 'aws', 'ncloud', 'otc', 'huaweicloud', 'dynamodb'])
    ports[name] = await freePort();
  server = spawn('npm', ['start'], {
    env: {
      ...process.env,
      OFFLINE_HTTP_PORT: String(ports.http),
      OFFLINE_LAMBDA_PORT: String(ports.lambda),
      SANDBOX_AWS_PORT: String(ports.aws),
      SANDBOX_NCLOUD_PORT: String(ports.ncloud),
      SANDBOX_OTC_PORT: String(ports.otc),
      SANDBOX_HUAWEICLOUD_PORT: String(ports.huaweicloud),
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
  // The server's whole output goes to the run's leak scan, with the demo's keys.
  recordText(logs);
  trackSecret(
    DEMO.ncloud.secretKey,
    DEMO.otc.secretKey,
    DEMO.huaweicloud.secretKey,
    DEMO.ncloud.initialPassword,
    DEMO.otc.initialPassword,
    DEMO.huaweicloud.initialPassword,
  );
  if (server?.pid) process.kill(-server.pid, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));
});

/**
 * Runs a README command. The product's answers go to the leak scan; the sandbox's control API
 * shows passwords on purpose, so its answers are not scanned: the passwords in them are tracked.
 */
const sh = (command: string) =>
  exec('sh', ['-c', command]).then(({ stdout }) => {
    const parsed = JSON.parse(stdout);
    if (/\/_sandbox\/(ncloud\/clusters|otc\/clusters|huaweicloud\/clusters|secrets)/.test(command))
      trackSecret(parsed?.password);
    else recordText(stdout);
    return parsed;
  });

it("prints the README's commands, with the stage's secret names", async () => {
  const commands = await readmeCommands();
  for (const command of commands) expect(logs).toContain(command);
  expect(
    commands.filter((c) => c.includes('/_sandbox/secrets?name=cluster-password-reset/local/')),
  ).toHaveLength(3);
});

it.each([
  ['ncloud-cdss', 0],
  ['otc-css', 3],
  ['huaweicloud-css', 6],
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

it("runs the README's Secrets Manager rotation as written: four steps, cluster == AWSCURRENT, no AWSPENDING", async () => {
  const commands = await readmeCommands('readme-rotation');
  for (const command of commands) expect(logs).toContain(command);
  const [rotate, listRotations, showCluster, showSecret, showPending] = commands;
  // The OTC secret exists once the README's OTC reset has run (the test above, or here).
  const [otcReset] = (await readmeCommands()).slice(3, 4);
  await sh(otcReset as string);
  const before = await sh(showSecret as string);
  const answer = await sh(rotate as string);
  expect(answer.VersionId).toEqual(expect.any(String));
  const rotations = (await sh(listRotations as string)) as Array<Record<string, any>>;
  expect(rotations.find((r) => r.token === answer.VersionId)).toMatchObject({
    finished: true,
    steps: ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((step) => ({ step, ok: true })),
  });
  const cluster = await sh(showCluster as string);
  const secret = await sh(showSecret as string);
  expect(secret.password).toBe(cluster.password);
  expect(secret.password).not.toBe(before.password);
  expect(logs).not.toContain(cluster.password);
  const pending = await exec('sh', ['-c', showPending as string]).then(({ stdout }) => JSON.parse(stdout));
  expect(pending).toEqual({ message: 'no such secret version' });
}, 60_000);

it("prints the README's EventBridge and Step Functions commands", async () => {
  const commands = await readmeCommands('readme-events', true);
  expect(commands).toHaveLength(3);
  for (const command of commands) expect(logs).toContain(command);
  expect(logs).toContain(`curl -s http://127.0.0.1:${ports.aws}/_sandbox/dead-letters`);
});

it("runs the README's EventBridge and Step Functions commands as written", async () => {
  const [putEvent, listEvents, runFleet] = await readmeCommands('readme-events');
  const put = await sh(putEvent as string);
  expect(put.FailedEntryCount).toBe(0);
  // The rule's asynchronous invocation runs in the background: wait for its outcome event.
  const otcCluster = '4f3deec3-efa8-4598-bf91-560aad1377a3';
  type Outcome = { 'detail-type': string; detail: Record<string, unknown> };
  let outcome: Outcome | undefined;
  for (let i = 0; i < 100 && !outcome; i++) {
    const events = (await sh(listEvents as string)) as Outcome[];
    outcome = events.find(
      (e) => e.detail?.clusterId === otcCluster && e.detail?.idempotencyKey === put.Entries[0].EventId,
    );
    if (!outcome) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(outcome?.['detail-type']).toBe('Cluster Password Reset Succeeded');

  const summary = await sh(runFleet as string);
  expect(summary.succeeded.map((r: { provider: string }) => r.provider).sort()).toEqual([
    'ncloud-cdss',
    'otc-css',
  ]);
  expect(summary.failed).toEqual([
    {
      target: { provider: 'ncloud-cdss', region: 'KR', clusterId: '9999999' },
      code: 'ClusterNotFound',
      message: 'Naver Cloud answered HTTP 404: Not Found: no such cluster',
    },
  ]);
}, 90_000);

it('keeps running when EventBridge requests fail: two retries, then the dead-letter queue; a broken request answered at once', async () => {
  const readme = await readFile('README.md', 'utf8');
  expect(readme).toContain('curl -s http://127.0.0.1:4566/_sandbox/dead-letters');
  const aws = `http://127.0.0.1:${ports.aws}`;
  const request = (detail: Record<string, string>) => ({
    Source: 'cluster-password-reset',
    DetailType: 'Cluster Password Reset Requested',
    Detail: JSON.stringify(detail),
  });
  const putEvents = async (...entries: Array<ReturnType<typeof request>>): Promise<string[]> => {
    const response = await fetch(`${aws}/`, {
      method: 'POST',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
      body: JSON.stringify({ Entries: entries }),
    });
    const text = await response.text();
    recordText(text);
    const answer = JSON.parse(text);
    expect(answer.FailedEntryCount).toBe(0);
    return answer.Entries.map((e: { EventId: string }) => e.EventId);
  };
  const unknownOtc = '00000000-0000-4000-8000-000000000000';
  const expected: Record<string, { fn: string; errorType: string }> = {};
  const [ncloudMissing, otcMissing] = await putEvents(
    request({ provider: 'ncloud-cdss', region: 'KR', clusterId: '9999999' }),
    request({ provider: 'otc-css', region: 'eu-de', clusterId: unknownOtc }),
  );
  const [invalid] = await putEvents(
    request({ provider: 'otc-css', region: 'eu-de', clusterId: 'not-a-uuid' }),
  );
  expected[ncloudMissing as string] = { fn: 'ncloudCdssResetCmakPassword', errorType: 'ClusterNotFound' };
  expected[otcMissing as string] = { fn: 'otcCssResetAdminPassword', errorType: 'ClusterNotFound' };

  // Three attempts with local retry delays each: bounded, well above what they need.
  type DeadLetter = { requestPayload: { id: string }; [key: string]: unknown };
  let records: DeadLetter[] = [];
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const all = (await sh(`curl -s ${aws}/_sandbox/dead-letters`)) as DeadLetter[];
    records = all.filter((r) => r.requestPayload?.id in expected);
    if (records.length === Object.keys(expected).length) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(records.map((r) => r.requestPayload.id).sort()).toEqual(Object.keys(expected).sort());
  for (const record of records) {
    const { fn, errorType } = expected[record.requestPayload.id] as { fn: string; errorType: string };
    expect(record).toEqual({
      version: '1.0',
      timestamp: expect.any(String),
      requestContext: {
        requestId: expect.any(String),
        functionArn: `arn:aws:lambda:eu-central-1:000000000000:function:cluster-password-reset-local-${fn}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: expect.objectContaining({
        id: record.requestPayload.id,
        source: 'cluster-password-reset',
        'detail-type': 'Cluster Password Reset Requested',
      }),
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType, errorMessage: expect.any(String) },
    });
  }

  // One log line per failed delivery, without the request: the two dead-lettered ones.
  const failures = logs.split('\n').filter((line) => line.includes('asynchronous invocation failed'));
  expect(failures.length).toBeGreaterThanOrEqual(2);
  for (const line of failures)
    for (const id of ['9999999', unknownOtc, 'not-a-uuid']) expect(line).not.toContain(id);
  expect(
    failures.filter((line) => line.includes('ClusterNotFound') && line.includes('3 attempts')),
  ).toHaveLength(2);
  // A request that breaks a rule is refused once, not retried (a retry would fail the same way)
  // and not dead-lettered: its refusal is published, the only answer its sender can get.
  expect(failures.filter((line) => line.includes('ValidationFailed'))).toHaveLength(0);
  const deadLetters = (await sh(`curl -s ${aws}/_sandbox/dead-letters`)) as DeadLetter[];
  expect(deadLetters.map((r) => r.requestPayload?.id)).not.toContain(invalid);
  type Published = {
    'detail-type': string;
    detail: { ok: boolean; error?: { code: string; fields?: unknown } };
  };
  const published = (await sh(`curl -s ${aws}/_sandbox/events`)) as Published[];
  expect(published).toContainEqual({
    'detail-type': 'Cluster Password Reset Failed',
    detail: expect.objectContaining({
      ok: false,
      provider: 'otc-css',
      stage: 'local',
      error: expect.objectContaining({
        code: 'VALIDATION_FAILED',
        fields: [expect.objectContaining({ field: 'clusterId' })],
      }),
    }),
  });

  // Still up, and still answering the API.
  expect(server.exitCode).toBeNull();
  const answer = await fetch(
    `http://127.0.0.1:${ports.http}/local/ncloud/cdss/${DEMO.ncloud.region}/clusters/${DEMO.ncloud.clusterId}/cmak-password`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'after-dead-letters' },
      body: '{}',
    },
  );
  const text = await answer.text();
  recordText(text);
  expect(answer.status).toBe(200);
  expect(JSON.parse(text)).toMatchObject({ ok: true, provider: 'ncloud-cdss' });
  trackSecret(
    (await sh(`curl -s ${aws}/_sandbox/ncloud/clusters/${DEMO.ncloud.region}/${DEMO.ncloud.clusterId}`))
      .password,
  );
  expect(server.exitCode).toBeNull();
}, 90_000);

it("runs the README's fault example as written: 503, password kept pending, the same key succeeds", async () => {
  const [injectFault, reset, showPending, resetAgain] = await readmeCommands('readme-faults');
  expect(await sh(injectFault as string)).toEqual({});
  const failed = await sh(reset as string);
  expect(failed).toMatchObject({
    ok: false,
    provider: 'huaweicloud-css',
    idempotencyKey: 'fault-demo',
    error: { code: 'PROVIDER_UNAVAILABLE', providerStatus: 503 },
  });
  const pending = await sh(showPending as string);
  expect(pending.password).toEqual(expect.any(String));
  const cluster = `http://127.0.0.1:${ports.aws}/_sandbox/huaweicloud/clusters/${DEMO.huaweicloud.region}/${DEMO.huaweicloud.clusterId}`;
  expect((await sh(`curl -s ${cluster}`)).password).not.toBe(pending.password);
  expect(await sh(resetAgain as string)).toMatchObject({ ok: true, idempotencyKey: 'fault-demo' });
  expect((await sh(`curl -s ${cluster}`)).password).toBe(pending.password);
  const current = await sh(
    `curl -s 'http://127.0.0.1:${ports.aws}/_sandbox/secrets?name=cluster-password-reset/local/huaweicloud-css/${DEMO.huaweicloud.region}/${DEMO.huaweicloud.clusterId}'`,
  );
  expect(current.password).toBe(pending.password);
  expect(logs).not.toContain(pending.password);
  // Another key waits out the lease kept after the unknown outcome.
  expect(await sh((reset as string).replace('fault-demo', 'fault-demo-other'))).toMatchObject({
    ok: false,
    error: { code: 'ROTATION_IN_PROGRESS' },
  });
}, 60_000);

it('puts a request whose provider no rule knows in the dead-letter queue, with the reason', async () => {
  const aws = `http://127.0.0.1:${ports.aws}`;
  const response = await fetch(`${aws}/`, {
    method: 'POST',
    headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify({
      Entries: [
        {
          Source: 'cluster-password-reset',
          DetailType: 'Cluster Password Reset Requested',
          EventBusName: 'cluster-password-reset-local-requests',
          Detail: JSON.stringify({ provider: 'otc-cs', region: 'eu-de', clusterId: DEMO.otc.clusterId }),
        },
      ],
    }),
  });
  const answer = JSON.parse(await response.text());
  const [eventId] = answer.Entries.map((e: { EventId: string }) => e.EventId);
  let message: Record<string, unknown> | undefined;
  const deadline = Date.now() + 10_000;
  while (!message && Date.now() < deadline) {
    const all = (await sh(`curl -s ${aws}/_sandbox/dead-letters`)) as Array<Record<string, unknown>>;
    message = all.find((record) => record.eventId === eventId);
    if (!message) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(message).toEqual({
    reason:
      'detail.provider is not one of ncloud-cdss, otc-css, huaweicloud-css: no handler takes this request',
    rule: 'cluster-password-reset-local-unknown-provider',
    eventId,
    time: expect.any(String),
    senderAccount: '000000000000',
    provider: 'otc-cs',
    region: 'eu-de',
    clusterId: DEMO.otc.clusterId,
  });
  expect(logs).toContain(
    `request ${eventId} taken by no handler (cluster-password-reset-local-unknown-provider)`,
  );
}, 30_000);

it('keeps answering while `serverless package` (what `npm run deploy` packages with) runs in the same checkout', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sls-beside-start-'));
  try {
    const env: Record<string, string | undefined> = { ...process.env, SLS_TELEMETRY_DISABLED: '1' };
    // The default work folder, as `npm run package` and `npm run deploy` use it.
    delete env.ESBUILD_WORK_FOLDER;
    await exec(
      'npx',
      ['serverless', 'package', '--stage', 'ci', '--region', 'eu-central-1', '--package', dir],
      {
        env: { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' } as NodeJS.ProcessEnv,
        timeout: 120_000,
      },
    );
    expect((await readdir(dir)).some((file) => file.endsWith('.zip'))).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // The package deleted its work folder when it was done; npm start's bundles are still there.
  expect((await stat('.esbuild-offline')).isDirectory()).toBe(true);
  const answer = await fetch(
    `http://127.0.0.1:${ports.http}/local/otc/css/${DEMO.otc.region}/clusters/${DEMO.otc.clusterId}/admin-password`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'after-package' },
      body: '{"dryRun": true}',
    },
  );
  const text = await answer.text();
  recordText(text);
  expect(answer.status).toBe(200);
  expect(JSON.parse(text)).toMatchObject({ ok: true, provider: 'otc-css', dryRun: true });
}, 150_000);

it("lists the sandbox's rotation attempts with `npm run report -- --stage local --history`", async () => {
  const { stdout, stderr } = await exec(
    'npm',
    ['run', '--silent', 'report', '--', '--stage', 'local', '--history', '--json'],
    {
      env: {
        ...process.env,
        SANDBOX_AWS_PORT: String(ports.aws),
        SANDBOX_DYNAMODB_PORT: String(ports.dynamodb),
        AWS_ENDPOINT_URL_DYNAMODB: '',
        AWS_ENDPOINT_URL: '',
      },
    },
  );
  recordText(stdout + stderr);
  expect(stderr).toContain(`reading the sandbox's rotation history at http://127.0.0.1:${ports.dynamodb}`);
  const entries = JSON.parse(stdout) as Array<Record<string, string | null>>;
  const of = (clusterId: string) => entries.filter((entry) => entry.clusterId === clusterId);
  // The README's resets, each a success asked for over HTTP by the offline API's caller.
  for (const cluster of [DEMO.ncloud.clusterId, DEMO.otc.clusterId]) {
    expect(of(cluster).some((entry) => entry.outcome === 'succeeded')).toBe(true);
  }
  // The README's fault example: a failed attempt with its error code, then the same key's success.
  expect(of(DEMO.huaweicloud.clusterId).map((entry) => [entry.outcome, entry.errorCode])).toEqual(
    expect.arrayContaining([
      ['failed', 'PROVIDER_UNAVAILABLE'],
      ['succeeded', null],
    ]),
  );
  // Secrets Manager's own rotation of the OTC secret, with its caller.
  expect(of(DEMO.otc.clusterId).map((entry) => entry.caller)).toContain('rotation event');
}, 60_000);
