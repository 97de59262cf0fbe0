import { afterEach, describe, expect, it } from 'vitest';
import { leakedLines, useSuite } from '../integration/suite.ts';
import { passwordEchoes } from '../support/secret-echoes.ts';
import {
  type Answer,
  deferred,
  invoke,
  invokeInChild,
  type Monitor,
  type Request,
  sleep,
  untilSettled,
  watch,
} from './world.ts';

// One history per way the first release lost or leaked a password, each replayed against the
// sandbox and checked against the protocol's invariant (world.ts). Every one of them failed on
// the rotation of the first release.

const LEASE_MS = 1_000;
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

/** A cluster with a first rotation done, and a monitor on it. */
const rotatedCluster = async (providerId: string) => {
  const { id } = suite.cluster(providerId);
  monitor = watch(suite, providerId, id);
  const first = await invoke(suite, { providerId, clusterId: id, key: `first-${id}`, mode: 'direct' });
  expect(first.ok).toBe(true);
  return id;
};

const stored = (providerId: string, clusterId: string, stage = 'AWSCURRENT') => {
  const value = suite.sandbox.aws.secretValue(suite.secretName(providerId, clusterId), stage);
  return value?.password as string | undefined;
};

const expectConverged = (providerId: string, clusterId: string) => {
  const current = stored(providerId, clusterId);
  suite.secretsUsed.add(current as string);
  expect(suite.harness(providerId).clusterPassword(clusterId)).toBe(current);
  expect(stored(providerId, clusterId, 'AWSPENDING')).toBeUndefined();
  expect(monitor?.violations).toEqual([]);
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

const waitOutLease = () => sleep(LEASE_MS + 150);

describe.each([['ncloud-cdss'], ['otc-css']])('%s', (providerId) => {
  const harness = () => suite.harness(providerId);

  it('1. late apply: a reset applied after the client gave up is never overtaken while its lease lasts', async () => {
    const id = await rotatedCluster(providerId);
    // The provider takes 600 ms to apply A's reset; A gives up after 250 ms.
    harness().addFault({ operation: 'reset', clusterId: id, delayMs: 600 });
    const a = await invoke(suite, request(providerId, id, `a-${id}`));
    expect(a.name).toBe('ProviderUnavailable');
    // B (a schedule: a new key) must not rotate while A's reset may still land.
    const b = await invoke(suite, request(providerId, id, `b-${id}`));
    expect(b.name).toBe('RotationInProgress');
    await sleep(500);
    monitor?.check('after the late apply');
    // A's retry re-sends its own pending password, and answers ok only once it is AWSCURRENT.
    const retryA = await untilSettled(() => invoke(suite, request(providerId, id, `a-${id}`)), 3_000);
    monitor?.answered('A retried', retryA);
    expect(retryA.ok).toBe(true);
    const retryB = await untilSettled(() => invoke(suite, request(providerId, id, `b-${id}`)), 3_000);
    expect(retryB.ok).toBe(true);
    monitor?.check('end');
    expectConverged(providerId, id);
  });

  it('2. kill mid-reset: the same key converges once the killed invocation’s time is up, before the lease expires', async () => {
    const id = await rotatedCluster(providerId);
    const held = deferred<void>();
    const release = deferred<'apply' | 'drop'>();
    harness().addFault({
      operation: 'reset',
      clusterId: id,
      hold: () => {
        held.resolve();
        return release.promise;
      },
    });
    const child = invokeInChild(suite, request(providerId, id, `k-${id}`), 600);
    await held.promise;
    child.kill();
    expect(await child.answer).toBe('killed');
    const killedAt = Date.now();
    release.resolve('apply');
    await sleep(50);
    monitor?.check('after the killed reset was applied');
    // Another key waits for the lease; the same key goes on once the dead invocation's deadline passed.
    expect((await invoke(suite, request(providerId, id, `other-${id}`))).name).toBe('RotationInProgress');
    const retry = await untilSettled(() => invoke(suite, request(providerId, id, `k-${id}`)), 3_000, 50);
    expect(retry.ok).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS);
    monitor?.answered('retry after kill', retry);
    expectConverged(providerId, id);
  }, 20_000);

  it('3. an unstored reset in between: an older pending password is finished first, never re-sent after it', async () => {
    const id = await rotatedCluster(providerId);
    harness().addFault({ operation: 'reset', clusterId: id, drop: true });
    expect((await invoke(suite, request(providerId, id, `a-${id}`))).name).toBe('ProviderUnavailable');
    await waitOutLease();
    const unstoredPassword = harness().validPassword.replace('1', '7');
    monitor?.unstored.add(unstoredPassword);
    suite.secretsUsed.add(unstoredPassword);
    const b = await untilSettled(
      () =>
        invoke(
          suite,
          request(providerId, id, `b-${id}`, {
            mode: 'http',
            password: unstoredPassword,
            storePassword: false,
          }),
        ),
      3_000,
    );
    expect(b.ok).toBe(true);
    const resetsAfterB = harness().calls(id, 'reset').length;
    // A's same-key retry finds its version finished by B's roll-forward: nothing is sent.
    const retryA = await untilSettled(() => invoke(suite, request(providerId, id, `a-${id}`)), 3_000);
    expect(retryA.ok).toBe(true);
    expect(harness().calls(id, 'reset').length).toBe(resetsAfterB);
    expect(harness().clusterPassword(id)).toBe(unstoredPassword);
    expect(monitor?.violations).toEqual([]);
  });

  it('4. key reuse: a key is bound to its request, before and after completion', async () => {
    const id = await rotatedCluster(providerId);
    const [p1, p2] = [harness().validPassword, harness().validPassword.replace('1', '2')];
    suite.secretsUsed.add(p2);
    const first = await invoke(suite, request(providerId, id, `k-${id}`, { mode: 'http', password: p1 }));
    expect(first.ok).toBe(true);
    const resets = harness().calls(id, 'reset').length;
    for (const reuse of [{ password: p2 }, {}, { password: p1, storePassword: false }]) {
      const again = await invoke(suite, request(providerId, id, `k-${id}`, { mode: 'http', ...reuse }));
      expect(again).toMatchObject({ ok: false, name: 'ValidationFailed' });
      expect(again.message).toContain('idempotencyKey was already used for a different request');
    }
    expect(harness().calls(id, 'reset').length).toBe(resets);
    expect(harness().clusterPassword(id)).toBe(p1);
    expectConverged(providerId, id);
  });

  it('5. a foreign secret: another cluster’s secret, or one without identity tags, is refused untouched', async () => {
    const x = await rotatedCluster(providerId);
    monitor?.stop();
    const xSecret = suite.secretName(providerId, x);
    const xCurrent = stored(providerId, x);
    const { id: y, initialPassword } = suite.cluster(providerId);
    const intoX = await invoke(suite, request(providerId, y, `y-${y}`, { mode: 'http', secretId: xSecret }));
    expect(intoX).toMatchObject({ ok: false, name: 'ValidationFailed' });
    expect(intoX.message).toContain("secretId names another secret than the cluster's own");
    const untagged = `${xSecret}-untagged`;
    suite.sandbox.aws.createSecret({ Name: untagged, SecretString: '{}' });
    const intoUntagged = await invoke(
      suite,
      request(providerId, y, `y2-${y}`, { mode: 'http', secretId: untagged }),
    );
    expect(intoUntagged.message).toContain("secretId names another secret than the cluster's own");
    expect(harness().calls(y, 'reset')).toEqual([]);
    expect(harness().clusterPassword(y)).toBe(initialPassword);
    expect(stored(providerId, x)).toBe(xCurrent);
  });

  it('6. a refused pending password is discarded: it blocks no later rotation and is never sent again', async () => {
    const id = await rotatedCluster(providerId);
    const refused = harness().validPassword.replace('1', '3');
    suite.secretsUsed.add(refused);
    const simulator = providerId === 'ncloud-cdss' ? suite.sandbox.ncloud : suite.sandbox.otc;
    simulator.refusedPasswords.add(refused);
    const a = await invoke(suite, request(providerId, id, `a-${id}`, { mode: 'http', password: refused }));
    expect(a.ok).toBe(false);
    expect(stored(providerId, id, 'AWSPENDING')).toBeUndefined();
    // The same key answers the same failure without sending; a new key rotates at once.
    const resets = harness().calls(id, 'reset').length;
    const again = await invoke(
      suite,
      request(providerId, id, `a-${id}`, { mode: 'http', password: refused }),
    );
    expect(again.name).toBe(a.name);
    expect(harness().calls(id, 'reset').length).toBe(resets);
    expect((await invoke(suite, request(providerId, id, `b-${id}`))).ok).toBe(true);
    expect(harness().calls(id, 'reset').length).toBe(resets + 1);
    expectConverged(providerId, id);
  });

  it('7. an echoing provider: the password reaches no answer, log line or event, in any encoding', async () => {
    const id = await rotatedCluster(providerId);
    const password = providerId === 'ncloud-cdss' ? 'Echo<pw>1!%#;' : 'Echo<pw>&1!%/\\';
    suite.secretsUsed.add(password);
    const echoes = Object.fromEntries(passwordEchoes(password));
    const before = suite.output.length;
    const eventsBefore = suite.sandbox.aws.events.length;
    for (const [index, [encoding, echo]] of Object.entries(echoes).entries()) {
      harness().addFault({
        operation: 'reset',
        clusterId: id,
        status: 400,
        body:
          providerId === 'ncloud-cdss'
            ? { error: { errorCode: echo, message: `bad password ${echo}`, details: echo } }
            : { error_code: echo, error_msg: `bad password ${echo}` },
      });
      const answer = await invoke(
        suite,
        request(providerId, id, `echo-${index}-${id}`, { mode: 'http', password }),
      );
      // The provider's refusal, with its status, and without its text.
      expect(answer, encoding).toMatchObject({
        ok: false,
        name: expect.stringMatching(/^(ProviderRejected|PasswordPolicyViolation)$/),
      });
      expect(answer.message, encoding).toMatch(/answered HTTP 400 \(the provider's message was withheld/);
      const seen = [
        JSON.stringify(answer),
        suite.output.slice(before).join(''),
        JSON.stringify(suite.sandbox.aws.events.slice(eventsBefore)),
      ].join('\n');
      for (const variant of Object.values(echoes)) expect(seen.includes(variant), `${encoding}`).toBe(false);
    }
    expect(leakedLines(suite).leaks).toEqual([]);
  });

  it('8. an unknown cluster: nothing is left behind', async () => {
    const missing = harness().newClusterId();
    const answer = await invoke(suite, request(providerId, missing, `m-${missing}`));
    expect(answer.name).toBe('ClusterNotFound');
    expect(suite.sandbox.aws.secrets.has(suite.secretName(providerId, missing))).toBe(false);
  });

  it('9. outcome events only for real attempts: no event for a replay or a lease refusal', async () => {
    const id = await rotatedCluster(providerId);
    const events = () =>
      suite.sandbox.aws.events
        .map((e) => ({ type: e.DetailType, detail: JSON.parse(e.Detail ?? '{}') }))
        .filter((e) => e.detail.clusterId === id)
        .map((e) => `${e.type}:${e.detail.idempotencyKey}`);
    const ok = await invoke(suite, request(providerId, id, `a-${id}`));
    expect(ok.ok).toBe(true);
    expect((await invoke(suite, request(providerId, id, `a-${id}`))).ok).toBe(true);
    harness().addFault({ operation: 'reset', clusterId: id, drop: true });
    expect((await invoke(suite, request(providerId, id, `b-${id}`))).name).toBe('ProviderUnavailable');
    expect((await invoke(suite, request(providerId, id, `c-${id}`))).name).toBe('RotationInProgress');
    expect(events()).toEqual([
      `Cluster Password Reset Succeeded:first-${id}`,
      `Cluster Password Reset Succeeded:a-${id}`,
      `Cluster Password Reset Failed:b-${id}`,
    ]);
  });

  it('10. a lease write applied whose answer was lost: the SDK’s retry re-enters its own lease', async () => {
    const id = await rotatedCluster(providerId);
    suite.sandbox.dynamoFaults.add({
      operation: 'DynamoDB_20120810.PutItem',
      bodyPattern: '"pk":\\{"S":"lease#',
      applyThenDrop: true,
    });
    const answer = await invoke(suite, request(providerId, id, `a-${id}`));
    expect(answer.ok).toBe(true);
    expectConverged(providerId, id);
  });

  it('12. a re-sent password the provider now refuses stays pending: an earlier send may have been applied', async () => {
    const id = await rotatedCluster(providerId);
    harness().addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
    expect((await invoke(suite, request(providerId, id, `a-${id}`))).name).toBe('ProviderUnavailable');
    const applied = harness().clusterPassword(id) as string;
    await waitOutLease();
    // B rolls A's password forward; this time the provider refuses it (as some refuse a password
    // they already have). A's first send was applied: discarding the version would lose it.
    const refusal = harness().resetAnswers.find(
      (a) => a.code === 'PROVIDER_REJECTED' && a.fault.status === 400,
    );
    harness().addFault({ operation: 'reset', clusterId: id, ...refusal?.fault });
    const b = await invoke(suite, request(providerId, id, `b-${id}`));
    expect(b.ok).toBe(false);
    monitor?.check('after the refused re-send');
    expect(stored(providerId, id, 'AWSPENDING')).toBe(applied);
    // Once the provider takes it again, the next rotation finishes it and goes on.
    expect((await untilSettled(() => invoke(suite, request(providerId, id, `c-${id}`)), 3_000)).ok).toBe(
      true,
    );
    expectConverged(providerId, id);
  });

  it('11. a completed key whose record was lost, superseded twice, answers ok without sending', async () => {
    const id = await rotatedCluster(providerId);
    // The write that records the completed rotation fails for good (more than the SDK's attempts).
    suite.sandbox.dynamoFaults.add({
      operation: 'DynamoDB_20120810.PutItem',
      bodyPattern: '"(outcome|result)":',
      times: 5,
      status: 500,
      body: { __type: 'InternalServerError', message: 'injected' },
    });
    const a = (await invoke(suite, request(providerId, id, `a-${id}`))) as Answer;
    expect(a.ok).toBe(true);
    suite.sandbox.dynamoFaults.clear();
    expect((await invoke(suite, request(providerId, id, `b-${id}`))).ok).toBe(true);
    expect((await invoke(suite, request(providerId, id, `c-${id}`))).ok).toBe(true);
    const resets = harness().calls(id, 'reset').length;
    const again = await invoke(suite, request(providerId, id, `a-${id}`));
    expect(again.ok).toBe(true);
    expect(again.result?.password?.versionId).toBe(a.result?.password?.versionId);
    expect(harness().calls(id, 'reset').length).toBe(resets);
    expectConverged(providerId, id);
  });
});
