import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../support/events.ts';
import { type ProviderHarness, STAGE } from './harness.ts';
import { leakedLines, report, useSuite } from './suite.ts';

// The real handlers, invoked as API Gateway would, against the sandbox over HTTP: the provider
// simulators, the AWS subset and dynalite. Every secret the suite uses is collected, and the
// captured log output must contain none of them.

const suite = useSuite();
const secretsUsed = suite.secretsUsed;

interface HttpAnswer {
  statusCode: number;
  body: Record<string, any>;
}

const PROVIDER_IDS = [['ncloud-cdss'], ['otc-css'], ['huaweicloud-css']];

describe.each(PROVIDER_IDS)('%s handler against the sandbox', (providerId) => {
  const harness = () => suite.harness(providerId);

  const call = async (
    clusterId: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<HttpAnswer> => {
    const handler = suite.handler(providerId) as (
      e: unknown,
      c: unknown,
    ) => Promise<{ statusCode: number; body: string }>;
    const answer = await handler(harness().httpEvent(clusterId, body, headers), lambdaContext());
    return { statusCode: answer.statusCode, body: JSON.parse(answer.body) };
  };

  const secretName = (clusterId: string) => suite.secretName(providerId, clusterId);
  const current = (clusterId: string) => suite.sandbox.aws.secretValue(secretName(clusterId));

  const cluster = (options: { busy?: boolean } = {}) => suite.cluster(providerId, options);

  it('rotates to a generated password: stored as AWSCURRENT, equal to the cluster, never answered', async () => {
    const { id, initialPassword } = cluster();
    const answer = await call(id, {}, { 'Idempotency-Key': `ok-${id}` });
    expect(answer.statusCode).toBe(200);
    const clusterPassword = harness().clusterPassword(id) as string;
    secretsUsed.add(clusterPassword);
    expect(clusterPassword).not.toBe(initialPassword);
    expect(current(id)).toMatchObject({
      password: clusterPassword,
      provider: providerId,
      region: harness().region,
      clusterId: id,
    });
    expect(answer.body).toMatchObject({
      ok: true,
      provider: providerId,
      operation: harness().operation,
      region: harness().region,
      clusterId: id,
      dryRun: false,
      password: { source: 'generated', stored: true },
      idempotencyKey: `ok-${id}`,
    });
    expect(answer.body.password.secretArn).toContain(secretName(id));
    // The stage's own namespace, the one its lease table guards.
    expect(secretName(id)).toBe(`cluster-password-reset/${STAGE}/${providerId}/${harness().region}/${id}`);
    expect(answer.body.providerRequestId).toEqual(expect.any(String));
    expect(JSON.stringify(answer.body)).not.toContain(clusterPassword);
    // State check, the reset, then polling until the cluster settles.
    const operations = harness()
      .calls(id)
      .map((c) => c.operation);
    expect(operations.slice(0, 2)).toEqual(['state', 'reset']);
    expect(new Set(operations.slice(2))).toEqual(new Set(['state']));
  });

  it('sets a supplied password and stores it', async () => {
    const { id } = cluster();
    secretsUsed.add(harness().validPassword);
    const answer = await call(id, { password: harness().validPassword });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.password).toMatchObject({ source: 'supplied', stored: true });
    expect(harness().clusterPassword(id)).toBe(harness().validPassword);
    expect(current(id)?.password).toBe(harness().validPassword);
  });

  it('sets a supplied password without storing it when asked', async () => {
    const { id } = cluster();
    const answer = await call(id, { password: harness().validPassword, storePassword: false });
    expect(answer.statusCode).toBe(200);
    expect(answer.body.password).toEqual({ source: 'supplied', stored: false });
    expect(harness().clusterPassword(id)).toBe(harness().validPassword);
    expect(suite.sandbox.aws.secrets.has(secretName(id))).toBe(false);
  });

  it('dry run: a preflight that asks the provider read-only, resets nothing and writes nothing', async () => {
    const { id, initialPassword } = cluster();
    const answer = await call(id, { dryRun: true }, { 'Idempotency-Key': `dry-${id}` });
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toMatchObject({
      ok: true,
      dryRun: true,
      password: { source: 'generated', stored: false },
      preflight: { idempotencyKey: 'unused', cluster: 'ready', secret: 'to-be-created' },
    });
    expect(answer.body.request.method).toBe('POST');
    expect(answer.body.request.url).toContain(id);
    expect(
      harness()
        .calls(id)
        .map((c) => c.operation),
    ).toEqual(['state']);
    expect(harness().clusterPassword(id)).toBe(initialPassword);
    expect(suite.sandbox.aws.secrets.has(secretName(id))).toBe(false);
    // Nothing written: the same key still rotates this cluster, and afterwards a dry run of it is
    // answered as bound to this very request.
    const real = await call(id, {}, { 'Idempotency-Key': `dry-${id}` });
    expect(real.statusCode).toBe(200);
    secretsUsed.add(harness().clusterPassword(id) as string);
    const again = await call(id, { dryRun: true }, { 'Idempotency-Key': `dry-${id}` });
    expect(again.body.preflight).toEqual({
      idempotencyKey: 'bound-to-this-request',
      cluster: 'ready',
      secret: 'exists',
    });
  });

  it('dry run answers what a real run would: unknown cluster, wrong keys, busy cluster, a key bound elsewhere', async () => {
    const unknown = await call(harness().newClusterId(), { dryRun: true });
    expect(unknown.body.error).toMatchObject({ code: 'CLUSTER_NOT_FOUND' });
    const { id } = cluster();
    const wrongKeys = await call(id, { dryRun: true, account: 'wrongkey' });
    expect(wrongKeys.body.error).toMatchObject({ code: 'PROVIDER_AUTH_FAILED' });
    for (const state of harness().blockingStates) {
      const busy = cluster();
      state.apply(busy.id);
      const answer = await call(busy.id, { dryRun: true });
      expect(answer.body.error.code, state.name).toBe(state.code);
    }
    // A key bound to one cluster is refused for a dry run of another, as for a real run.
    const other = cluster();
    await call(other.id, {}, { 'Idempotency-Key': `bound-${other.id}` });
    secretsUsed.add(harness().clusterPassword(other.id) as string);
    const misused = await call(id, { dryRun: true }, { 'Idempotency-Key': `bound-${other.id}` });
    expect(misused.statusCode).toBe(400);
    expect(misused.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      fields: [{ field: 'idempotencyKey' }],
    });
    expect(harness().calls(id, 'reset')).toEqual([]);
  });

  it('answers a retry after completion with the same result and no second reset', async () => {
    const { id } = cluster();
    const first = await call(id, {}, { 'Idempotency-Key': `replay-${id}` });
    const second = await call(id, {}, { 'Idempotency-Key': `replay-${id}` });
    expect(second).toEqual(first);
    expect(harness().calls(id, 'reset')).toHaveLength(1);
  });

  it('converges when the provider applied the reset but the answer was lost', async () => {
    const { id } = cluster();
    harness().addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    const lost = await call(id, {}, { 'Idempotency-Key': `lost-${id}` });
    expect(lost.statusCode).toBe(503);
    expect(lost.body.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', retryable: true });
    const applied = harness().clusterPassword(id) as string;
    secretsUsed.add(applied);
    // AWSCURRENT never holds a password the provider has not confirmed: still the placeholder.
    expect(current(id)?.password).toBeUndefined();
    expect(suite.sandbox.aws.secretValue(secretName(id), 'AWSPENDING')?.password).toBe(applied);

    // A retry while the cluster still applies the change is told to come back later…
    harness().setBusy(id, true);
    const early = await call(id, {}, { 'Idempotency-Key': `lost-${id}` });
    expect(early.body.error).toMatchObject({ code: 'CLUSTER_STATE_CONFLICT', retryable: true });
    expect(harness().clusterPassword(id)).toBe(applied);
    harness().setBusy(id, false);
    // …and once it has settled, re-sends the stored pending password and promotes it.
    const retry = await call(id, {}, { 'Idempotency-Key': `lost-${id}` });
    expect(retry.statusCode).toBe(200);
    expect(harness().clusterPassword(id)).toBe(applied);
    expect(current(id)?.password).toBe(applied);
    expect(suite.sandbox.aws.secretValue(secretName(id), 'AWSPENDING')).toBeUndefined();
  });

  it('keeps the previous password as AWSPREVIOUS on the next rotation', async () => {
    const { id } = cluster();
    await call(id, {});
    const first = current(id)?.password as string;
    await call(id, {});
    secretsUsed.add(first).add(harness().clusterPassword(id) as string);
    expect(suite.sandbox.aws.secretValue(secretName(id), 'AWSPREVIOUS')?.password).toBe(first);
    expect(current(id)?.password).toBe(harness().clusterPassword(id));
    expect(current(id)?.password).not.toBe(first);
  });

  describe('bad input gets a 4xx and reaches no provider', () => {
    it.each([
      [
        'an unknown region',
        (h: ProviderHarness, id: string) => ({
          ...(h.httpEvent(id) as object),
          pathParameters: { region: 'XX', clusterId: id },
        }),
        'region',
      ],
      ['a path-injection cluster id', (h: ProviderHarness) => h.httpEvent(h.badClusterId), 'clusterId'],
      [
        'an unknown body field',
        (h: ProviderHarness, id: string) => h.httpEvent(id, { admin: true }),
        'admin',
      ],
    ])('%s', async (_, build, field) => {
      const before = harness().allCalls().length;
      const { id } = cluster();
      const handler = suite.handler(providerId) as (
        e: unknown,
        c: unknown,
      ) => Promise<{ statusCode: number; body: string }>;
      const answer = await handler(build(harness(), id), lambdaContext());
      expect(answer.statusCode).toBe(400);
      const body = JSON.parse(answer.body);
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.fields.map((f: { field: string }) => f.field)).toContain(field);
      expect(harness().allCalls().length).toBe(before);
    });

    it('a password that breaks the provider rule', async () => {
      const { id } = cluster();
      const answer = await call(id, { password: 'short' });
      expect(answer.statusCode).toBe(400);
      expect(answer.body.error.code).toBe('PASSWORD_POLICY_VIOLATION');
      expect(harness().calls(id)).toEqual([]);
    });
  });

  it.each([
    ['an account without credentials', 'nobody'],
    ['malformed credentials', 'broken'],
  ])('answers CREDENTIALS_UNAVAILABLE for %s', async (_, account) => {
    const { id } = cluster();
    const answer = await call(id, { account });
    expect(answer.statusCode).toBe(500);
    expect(answer.body.error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(harness().calls(id)).toEqual([]);
  });

  it('answers PROVIDER_AUTH_FAILED when the provider refuses the signature', async () => {
    const { id, initialPassword } = cluster();
    const answer = await call(id, { account: 'wrongkey' });
    expect(answer.statusCode).toBe(502);
    expect(answer.body.error).toMatchObject({ code: 'PROVIDER_AUTH_FAILED', providerStatus: 401 });
    expect(harness().clusterPassword(id)).toBe(initialPassword);
  });

  it('answers CLUSTER_NOT_FOUND for a cluster the provider does not know', async () => {
    const answer = await call(harness().newClusterId(), {});
    expect(answer.statusCode).toBe(404);
    expect(answer.body.error.code).toBe('CLUSTER_NOT_FOUND');
  });

  it('sends no reset while the cluster is busy, and AWSCURRENT keeps no unconfirmed password', async () => {
    for (const state of harness().blockingStates) {
      const { id, initialPassword } = cluster();
      state.apply(id);
      const answer = await call(id, {});
      expect(answer.statusCode, state.name).toBe(state.status);
      expect(answer.body.error.code, state.name).toBe(state.code);
      expect(harness().calls(id, 'reset'), state.name).toEqual([]);
      expect(harness().clusterPassword(id)).toBe(initialPassword);
      expect(current(id)?.password).toBeUndefined();
    }
  });

  it('maps every provider answer to its code and leaves AWSCURRENT unchanged', async () => {
    for (const answerCase of harness().resetAnswers) {
      const { id, initialPassword } = cluster();
      harness().addFault({ operation: 'reset', clusterId: id, ...answerCase.fault });
      const answer = await call(id, {});
      expect(answer.statusCode, answerCase.name).toBe(answerCase.status);
      expect(answer.body.error.code, answerCase.name).toBe(answerCase.code);
      expect(harness().clusterPassword(id), answerCase.name).toBe(initialPassword);
      expect(current(id)?.password, answerCase.name).toBeUndefined();
    }
  });

  it('answers ROTATION_IN_PROGRESS while another rotation holds the cluster', async () => {
    const { id } = cluster();
    harness().addFault({ operation: 'reset', clusterId: id, delayMs: 600 });
    const first = call(id, {}, { 'Idempotency-Key': `a-${id}` });
    // The first holds the lease once it has checked the cluster state; its reset is slow.
    while (harness().calls(id, 'state').length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await call(id, {}, { 'Idempotency-Key': `b-${id}` });
    expect(second.statusCode).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'ROTATION_IN_PROGRESS', retryable: true });
    expect((await first).statusCode).toBe(200);
    // The lease is released after the outcome: the next rotation goes through.
    expect((await call(id, {})).statusCode).toBe(200);
  });

  it('takes over a lease whose holder died, once it has expired', async () => {
    const { id } = cluster();
    const client = new DynamoDBClient({});
    await client.send(
      new PutItemCommand({
        TableName: suite.sandbox.env.LOCK_TABLE,
        Item: {
          pk: { S: `lease#${providerId}#${harness().region}#${id}` },
          owner: { S: 'dead-invocation' },
          holder: { S: 'dead-invocation/x' },
          holderDeadline: { N: String(Date.now() - 5_000) },
          leaseUntil: { N: String(Date.now() - 1) },
          expiresAt: { N: String(Math.floor(Date.now() / 1000)) },
        },
      }),
    );
    expect((await call(id, {})).statusCode).toBe(200);
  });

  it('waits while another rotation’s lease is unexpired', async () => {
    const { id } = cluster();
    await new DynamoDBClient({}).send(
      new PutItemCommand({
        TableName: suite.sandbox.env.LOCK_TABLE,
        Item: {
          pk: { S: `lease#${providerId}#${harness().region}#${id}` },
          owner: { S: 'another-rotation' },
          holder: { S: 'another-rotation/x' },
          holderDeadline: { N: '0' },
          leaseUntil: { N: String(Date.now() + 60_000) },
          expiresAt: { N: String(Math.floor(Date.now() / 1000) + 60) },
        },
      }),
    );
    const answer = await call(id, {});
    expect(answer.statusCode).toBe(409);
    expect(answer.body).toMatchObject({ error: { code: 'ROTATION_IN_PROGRESS' } });
    expect(harness().calls(id)).toEqual([]);
  });

  it('answers PROVIDER_UNAVAILABLE before the function times out when the provider is slow', async () => {
    const { id } = cluster();
    harness().addFault({ operation: 'state', clusterId: id, delayMs: 5000, status: 200 });
    const handler = suite.handler(providerId) as (
      e: unknown,
      c: unknown,
    ) => Promise<{ statusCode: number; body: string }>;
    const started = Date.now();
    // 2.4 s left, of which DEADLINE_RESERVE_MS (2 s) is kept to answer: the provider gets 0.4 s.
    const answer = await handler(harness().httpEvent(id, {}), lambdaContext(2400));
    const elapsed = Date.now() - started;
    expect(answer.statusCode).toBe(503);
    expect(JSON.parse(answer.body).error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(elapsed).toBeLessThan(2400);
  });

  it('reads at most 64 KiB of a provider answer and quotes little of it', async () => {
    const { id } = cluster();
    harness().addFault({ operation: 'state', clusterId: id, status: 500, text: 'x'.repeat(5 * 1024 * 1024) });
    const answer = await call(id, {});
    expect(answer.statusCode).toBe(503);
    expect(answer.body.error.code).toBe('PROVIDER_UNAVAILABLE');
    expect(answer.body.error.message.length).toBeLessThan(400);
  });

  it('sends nothing when the password cannot be stored first', async () => {
    const { id, initialPassword } = cluster();
    suite.sandbox.aws.faults.add({
      operation: 'secretsmanager.PutSecretValue',
      // More than the SDK's own attempts, which would otherwise absorb the fault.
      times: 5,
      status: 500,
      body: { __type: 'InternalServiceError', message: 'try again' },
    });
    const answer = await call(id, {});
    expect(answer.statusCode).toBe(500);
    expect(answer.body.error).toMatchObject({ code: 'SECRET_STORE_FAILED', retryable: true });
    expect(harness().calls(id, 'reset')).toEqual([]);
    expect(harness().clusterPassword(id)).toBe(initialPassword);
  });
});

describe('what the handlers wrote', () => {
  it('logged structured lines and no password, secret key or credential value', () => {
    const { lines, leaks } = leakedLines(suite);
    expect(lines.length).toBeGreaterThan(20);
    expect(secretsUsed.size).toBeGreaterThan(10);
    expect(leaks).toEqual([]);
    report(`leak scan: ${lines.length} log lines, ${secretsUsed.size} secrets, ${leaks.length} leaks`);
  });
});
