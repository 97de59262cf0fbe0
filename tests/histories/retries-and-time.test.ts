import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { useSuite } from '../integration/suite.ts';
import { invoke, type Monitor, type Request, sleep, untilSettled, watch } from './world.ts';

// Histories in the two dimensions the first fixes did not explore: a write the AWS SDK retried
// after its first try was applied, and time. Each failed on the rotation as it was at commit
// 8faff34 (the five histories of the design's rules 7 to 10), and each is checked against the
// invariant (world.ts) at every reset the provider receives and applies.

const LEASE_MS = 1_000;
const DAY_SECONDS = 24 * 3600;
const suite = useSuite({
  env: { LEASE_SECONDS: String(LEASE_MS / 1000), PROVIDER_TIMEOUT_MS: '250', DEADLINE_RESERVE_MS: '150' },
  changingMs: 40,
});

let monitor: Monitor | undefined;
afterEach(() => {
  monitor?.stop();
  suite.sandbox.ncloud.faults.clear();
  suite.sandbox.otc.faults.clear();
  suite.sandbox.aws.faults.clear();
  suite.sandbox.dynamoFaults.clear();
});

/**
 * `days` pass: DynamoDB's TTL deletes every record whose `expiresAt` is then past (dynalite keeps
 * TTL settings but deletes nothing itself, so the history does it, as the table would).
 */
const timePasses = async (days: number): Promise<number> => {
  const client = new DynamoDBClient({
    endpoint: suite.sandbox.urls.dynamodb,
    region: 'eu-central-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const table = suite.sandbox.env.LOCK_TABLE as string;
  const later = Math.floor(Date.now() / 1000) + days * DAY_SECONDS;
  const { Items = [] } = await client.send(new ScanCommand({ TableName: table }));
  const expired = Items.filter((item) => item.expiresAt?.N !== undefined && Number(item.expiresAt.N) < later);
  for (const item of expired)
    await client.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk as never } }));
  client.destroy();
  return expired.length;
};

const rotatedCluster = async (providerId: string) => {
  const { id } = suite.cluster(providerId);
  monitor = watch(suite, providerId, id);
  expect((await invoke(suite, { providerId, clusterId: id, key: `first-${id}`, mode: 'direct' })).ok).toBe(
    true,
  );
  return id;
};

const request = (
  providerId: string,
  clusterId: string,
  key: string,
  extra: Partial<Request> = {},
): Request => ({
  providerId,
  clusterId,
  key,
  mode: 'direct',
  ...extra,
});

const stored = (providerId: string, clusterId: string, stage = 'AWSCURRENT') =>
  suite.sandbox.aws.secretValue(suite.secretName(providerId, clusterId), stage)?.password as
    | string
    | undefined;

/** The provider refuses the next resets for good (policy / rejected). */
const refuseNextResets = (providerId: string, clusterId: string, times = 1) => {
  const answers = suite.harness(providerId).resetAnswers;
  const refusal = answers.find(
    (a) => a.code === 'PASSWORD_POLICY_VIOLATION' || a.code === 'PROVIDER_REJECTED',
  );
  suite.harness(providerId).addFault({ operation: 'reset', clusterId, times, ...refusal?.fault });
};

describe.each([['ncloud-cdss'], ['otc-css']])('%s', (providerId) => {
  const harness = () => suite.harness(providerId);

  it('1. a lease re-entry applied, its answer lost and retried by the SDK: the lease stays in doubt', async () => {
    const id = await rotatedCluster(providerId);
    // A's reset reaches the provider 600 ms late; A gives up after 250 ms: unknown, maybe applied.
    harness().addFault({ operation: 'reset', clusterId: id, delayMs: 600 });
    expect((await invoke(suite, request(providerId, id, `a-${id}`))).name).toBe('ProviderUnavailable');
    // A's retry re-enters the lease; that write is applied, its answer lost, and the SDK retries it
    // (the retry meets its own first write). Either release's way of taking the lease matches.
    for (const operation of ['PutItem', 'UpdateItem']) {
      suite.sandbox.dynamoFaults.add({
        operation: `DynamoDB_20120810.${operation}`,
        bodyPattern: 'holderDeadline < :now',
        applyThenDrop: true,
        times: 1,
      });
    }
    const retryA = await invoke(suite, request(providerId, id, `a-${id}`));
    expect(retryA.ok).toBe(true);
    // A's first reset is still travelling: nothing else may rotate the cluster.
    const b = await invoke(suite, request(providerId, id, `b-${id}`));
    expect(b.name).toBe('RotationInProgress');
    await sleep(700);
    monitor?.check('after the late reset landed');
    expect(monitor?.violations).toEqual([]);
    expect(harness().clusterPassword(id)).toBe(stored(providerId, id));
  });

  it.each([
    ['a new key', 'direct'],
    ['an HTTP roll forward', 'http'],
  ] as const)(
    '2. time: a pending version sent weeks ago keeps its "sent" record; a refused re-send (%s) discards nothing',
    async (_, mode) => {
      const id = await rotatedCluster(providerId);
      harness().addFault({ operation: 'reset', clusterId: id, applyThenDrop: true, times: 1 });
      expect((await invoke(suite, request(providerId, id, `a-${id}`))).name).toBe('ProviderUnavailable');
      const applied = harness().clusterPassword(id);
      expect(stored(providerId, id, 'AWSPENDING')).toBe(applied);
      // Weeks pass (the rotation is attempted again at a schedule's next window): every record with a
      // TTL is gone.
      await timePasses(30);
      await sleep(LEASE_MS);
      // The provider refuses what it is sent next (it would refuse B's own password too).
      refuseNextResets(providerId, id, 2);
      const b = await invoke(suite, request(providerId, id, `b-${id}`, { mode }));
      expect(b.ok).toBe(false);
      monitor?.check('after the refused re-send');
      expect(monitor?.violations).toEqual([]);
      // The refusal proved nothing: the cluster holds A's password, which is still AWSPENDING.
      expect(stored(providerId, id, 'AWSPENDING')).toBe(applied);
      suite.sandbox.ncloud.faults.clear();
      suite.sandbox.otc.faults.clear();
      const retryB = await untilSettled(
        () => invoke(suite, request(providerId, id, `b-${id}`, { mode })),
        3_000,
      );
      expect(retryB.ok).toBe(true);
      monitor?.check('end');
      expect(monitor?.violations).toEqual([]);
      expect(harness().clusterPassword(id)).toBe(stored(providerId, id));
    },
  );

  it('3. an unstored reset applied with an unknown outcome, refused once after its lease: the refusal is not final', async () => {
    const id = await rotatedCluster(providerId);
    const password = 'Unstored-pass-7~';
    monitor?.unstored.add(password);
    suite.secretsUsed.add(password);
    const unstored = request(providerId, id, `u-${id}`, { mode: 'http', password, storePassword: false });
    harness().addFault({ operation: 'reset', clusterId: id, applyThenDrop: true, times: 1 });
    expect((await invoke(suite, unstored)).name).toBe('ProviderUnavailable');
    expect(harness().clusterPassword(id)).toBe(password);
    await sleep(LEASE_MS + 150);
    refuseNextResets(providerId, id);
    expect((await invoke(suite, unstored)).ok).toBe(false);
    const resets = harness().calls(id, 'reset').length;
    const retry = await untilSettled(() => invoke(suite, unstored), 3_000);
    expect(retry).toMatchObject({ ok: true });
    expect(harness().calls(id, 'reset').length).toBeGreaterThan(resets);
    expect(harness().clusterPassword(id)).toBe(password);
  });

  it('4. a key replayed after its records expired and its version was superseded: answered once and for all', async () => {
    const id = await rotatedCluster(providerId);
    const keyed = request(providerId, id, `old-${id}`);
    expect((await invoke(suite, keyed)).ok).toBe(true);
    expect((await invoke(suite, request(providerId, id, `next-${id}`))).ok).toBe(true);
    expect((await invoke(suite, request(providerId, id, `third-${id}`))).ok).toBe(true);
    expect(await timePasses(8)).toBeGreaterThan(0);
    for (let replay = 0; replay < 3; replay++) {
      const answer = await invoke(suite, keyed);
      expect(answer).toMatchObject({ ok: false, name: 'ValidationFailed' });
      expect(answer.message).toContain('idempotencyKey');
    }
    monitor?.check('end');
    expect(monitor?.violations).toEqual([]);
  });

  it('5. a dry run honours the key’s binding: a key bound to one cluster is refused for another', async () => {
    const x = await rotatedCluster(providerId);
    const y = suite.cluster(providerId).id;
    expect((await invoke(suite, request(providerId, x, `bound-${x}`))).ok).toBe(true);
    suite.secretsUsed.add(harness().clusterPassword(x) as string);
    const dry = await invoke(suite, request(providerId, y, `bound-${x}`, { mode: 'http', dryRun: true }));
    expect(dry).toMatchObject({ ok: false, name: 'ValidationFailed' });
    expect(dry.message).toContain('idempotencyKey');
    expect(harness().calls(y, 'reset')).toEqual([]);
  });
});
