import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROTATION_STEPS } from '../../sandbox/aws.ts';
import { useSuite } from '../integration/suite.ts';
import {
  type Answer,
  deferred,
  invoke,
  invokeInChild,
  invokeStep,
  type Monitor,
  type NativeRun,
  type NativeStep,
  RETRYABLE,
  type Request,
  type RotationFunction,
  registerRotationFunction,
  retryRotation,
  rotateSecret,
  sleep,
  untilSettled,
  versionOf,
  watch,
} from './world.ts';

// Histories of Secrets Manager's own rotation (RotateSecret, then createSecret, setSecret,
// testSecret, finishSecret, one invocation each) among the other ways of rotating the same cluster:
// late effects, a step killed mid-send, a re-attempt of another caller's version racing that
// caller's retry, a rotation started while an HTTP caller rotates, a refusal for good. After every
// step and answer the invariant of world.ts holds; every history ends converged.

const LEASE_MS = 1_000;
const PROVIDERS = ['ncloud-cdss', 'otc-css'] as const;
const suite = useSuite({
  env: { LEASE_SECONDS: String(LEASE_MS / 1000), PROVIDER_TIMEOUT_MS: '250', DEADLINE_RESERVE_MS: '150' },
  changingMs: 40,
});

const functions = new Map<string, RotationFunction>();
beforeAll(() => {
  for (const providerId of PROVIDERS) functions.set(providerId, registerRotationFunction(suite, providerId));
});

let monitor: Monitor | undefined;
afterEach(() => {
  monitor?.stop();
  for (const fn of functions.values()) fn.reset();
  suite.sandbox.ncloud.faults.clear();
  suite.sandbox.otc.faults.clear();
  suite.sandbox.aws.faults.clear();
  suite.sandbox.dynamoFaults.clear();
});

/** A cluster with a first rotation done (which creates its secret), watched, its steps heard by the monitor. */
const rotatedCluster = async (providerId: string) => {
  const { id } = suite.cluster(providerId);
  const name = suite.secretName(providerId, id);
  const watching = watch(suite, providerId, id);
  monitor = watching;
  const first = await invoke(suite, { providerId, clusterId: id, key: `first-${id}`, mode: 'direct' });
  expect(first.ok).toBe(true);
  (functions.get(providerId) as RotationFunction).onAnswer = (step, answer) => {
    const label = `${step.step} of ${step.token.slice(0, 8)}`;
    watching.answeredStep(label, step, answer);
    watching.check(`after ${label}`);
  };
  return { id, name };
};

const stored = (providerId: string, clusterId: string, stage = 'AWSCURRENT') => {
  const value = suite.sandbox.aws.secretValue(suite.secretName(providerId, clusterId), stage);
  return value?.password as string | undefined;
};

const everCurrent = (name: string, versionId: string) =>
  suite.sandbox.aws.secrets.get(name)?.everCurrent.has(versionId) ?? false;

const expectConverged = (providerId: string, clusterId: string) => {
  monitor?.check('end');
  const current = stored(providerId, clusterId);
  suite.secretsUsed.add(current as string);
  expect(suite.harness(providerId).clusterPassword(clusterId)).toBe(current);
  // Not even an empty version of an unfinished Secrets Manager rotation is left.
  expect(versionOf(suite, suite.secretName(providerId, clusterId), 'AWSPENDING')).toBeUndefined();
  expect(monitor?.violations).toEqual([]);
};

const request = (
  providerId: string,
  clusterId: string,
  key: string,
  extra: Partial<Request> = {},
): Request => ({ providerId, clusterId, key, mode: 'http', ...extra });

const ok = (step: NativeStep['step']) => ({ step, ok: true });
const failed = (step: NativeStep['step'], errorType: string) => ({ step, ok: false, errorType });

/** RotateSecret started, its createSecret held until `release()`: the empty AWSPENDING is in place. */
const heldAtCreateSecret = async (rotationFunction: RotationFunction, name: string) => {
  const reached = deferred<void>();
  const gate = deferred<void>();
  rotationFunction.runner = async (step) => {
    if (step.step === 'createSecret') {
      reached.resolve();
      await gate.promise;
    }
    return invokeStep(suite, step);
  };
  const native = rotateSecret(suite, rotationFunction, name);
  await reached.promise;
  return { native, token: versionOf(suite, name, 'AWSPENDING') as string, release: () => gate.resolve() };
};

/** Secrets Manager retrying an unfinished rotation until it finishes (or fails for good). */
const untilRotated = async (attempt: () => Promise<NativeRun>, budgetMs: number): Promise<NativeRun> => {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const run = await attempt();
    const retryable = run.failed === 'Killed' || RETRYABLE.has(run.failed ?? '');
    if (run.finished || !retryable || Date.now() > deadline) return run;
    await sleep(50);
  }
};

describe.each(PROVIDERS.map((p) => [p]))('%s', (providerId) => {
  const harness = () => suite.harness(providerId);
  const fn = () => functions.get(providerId) as RotationFunction;

  it.each([
    ['after the late apply', 500],
    ['while the first reset is still on its way', 0],
  ])(
    'N1. late apply of setSecret: Secrets Manager’s retry with the same token (%s) converges, and no other key goes on meanwhile',
    async (_, retryAfterMs) => {
      const { id, name } = await rotatedCluster(providerId);
      const before = stored(providerId, id);
      // The simulator counts a held reset once it is applied: the late one lands at an unknown
      // moment under load, so resets are counted from before the first send to after the late apply.
      const resetsBefore = harness().calls(id, 'reset').length;
      // The provider takes 600 ms to apply setSecret's reset; the step gives up after 250 ms.
      harness().addFault({ operation: 'reset', clusterId: id, delayMs: 600 });
      const first = await rotateSecret(suite, fn(), name);
      expect(first).toMatchObject({ reattempted: false, finished: false });
      expect(first.steps).toEqual([ok('createSecret'), failed('setSecret', 'ProviderUnavailable')]);
      const pending = stored(providerId, id, 'AWSPENDING') as string;
      suite.secretsUsed.add(pending);
      expect(versionOf(suite, name, 'AWSPENDING')).toBe(first.token);
      expect(harness().clusterPassword(id)).toBe(before);
      // A new key must not rotate while the native reset may still land.
      const b = request(providerId, id, `b-${id}`);
      expect((await invoke(suite, b)).name).toBe('RotationInProgress');
      await sleep(retryAfterMs);
      monitor?.check('before the retry');
      // Secrets Manager re-attempts the unfinished rotation with its token: one re-send, then current.
      const retry = await rotateSecret(suite, fn(), name);
      expect(retry).toMatchObject({ reattempted: true, token: first.token, finished: true });
      expect(everCurrent(name, first.token)).toBe(true);
      await sleep(Math.max(0, 650 - retryAfterMs));
      monitor?.check('after the late apply');
      expect(harness().clusterPassword(id)).toBe(pending);
      // The first send (applied late) and exactly one re-send: nothing else reached the provider.
      expect(harness().calls(id, 'reset').length).toBe(resetsBefore + 2);
      // The new key goes on once the lease kept after the unknown outcome has expired.
      const answer = await untilSettled(() => invoke(suite, b), 3_000, 50);
      monitor?.answered('b', answer);
      expect(answer.ok).toBe(true);
      expectConverged(providerId, id);
    },
  );

  it('N2. killed mid-setSecret: a new key waits out the lease, then rolls the native password forward; Secrets Manager’s retry of the old token has nothing left to do', async () => {
    const { id, name } = await rotatedCluster(providerId);
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
    let setSecretStarted = 0;
    fn().runner = async (step) => {
      if (step.step !== 'setSecret') return invokeStep(suite, step);
      setSecretStarted = Date.now();
      const child = invokeInChild(suite, step, 600);
      const reached = await Promise.race([held.promise.then(() => 'held' as const), child.answer]);
      if (reached !== 'held') return reached;
      child.kill();
      return child.answer;
    };
    const run = await rotateSecret(suite, fn(), name);
    expect(run.steps).toEqual([ok('createSecret'), failed('setSecret', 'Killed')]);
    fn().runner = (step) => invokeStep(suite, step);
    // The reset the killed step sent reaches the provider after all.
    release.resolve('apply');
    await sleep(50);
    monitor?.check('after the killed reset was applied');
    const nativePassword = stored(providerId, id, 'AWSPENDING') as string;
    suite.secretsUsed.add(nativePassword);
    expect(harness().clusterPassword(id)).toBe(nativePassword);

    // A new key: refused while the killed step's lease lasts, then it rolls the native version forward.
    const b = request(providerId, id, `b-${id}`);
    expect((await invoke(suite, b)).name).toBe('RotationInProgress');
    const answer = await untilSettled(() => invoke(suite, b), 3_000, 50);
    monitor?.answered('b', answer);
    expect(answer.ok).toBe(true);
    expect(Date.now() - setSecretStarted).toBeGreaterThanOrEqual(LEASE_MS);
    expect(everCurrent(name, run.token)).toBe(true);

    // Secrets Manager retries the rotation with its old token: every step has nothing left to do.
    const resets = harness().calls(id, 'reset').length;
    const retry = await retryRotation(suite, fn(), name, run.token);
    expect(retry.steps).toEqual(ROTATION_STEPS.map(ok));
    expect(harness().calls(id, 'reset').length).toBe(resets);
    expectConverged(providerId, id);
  }, 20_000);

  it('N2b. killed mid-setSecret: Secrets Manager’s retry with the same token goes on once the killed invocation’s time is up, before the lease expires', async () => {
    const { id, name } = await rotatedCluster(providerId);
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
    let killedAt = 0;
    fn().runner = async (step) => {
      if (step.step !== 'setSecret') return invokeStep(suite, step);
      const child = invokeInChild(suite, step, 600);
      const reached = await Promise.race([held.promise.then(() => 'held' as const), child.answer]);
      if (reached !== 'held') return reached;
      child.kill();
      const answer = await child.answer;
      killedAt = Date.now();
      return answer;
    };
    const run = await rotateSecret(suite, fn(), name);
    expect(run.steps).toEqual([ok('createSecret'), failed('setSecret', 'Killed')]);
    fn().runner = (step) => invokeStep(suite, step);
    // This time the held reset is lost.
    release.resolve('drop');
    expect((await invoke(suite, request(providerId, id, `b-${id}`))).name).toBe('RotationInProgress');
    const retry = await untilRotated(() => rotateSecret(suite, fn(), name), 3_000);
    expect(retry).toMatchObject({ reattempted: true, token: run.token, finished: true });
    expect(Date.now() - killedAt).toBeLessThan(LEASE_MS);
    expect(stored(providerId, id)).toBe(harness().clusterPassword(id));
    // The killed send's outcome was unknown: the lease runs out before another key goes on.
    const answer = await untilSettled(() => invoke(suite, request(providerId, id, `b-${id}`)), 3_000, 50);
    monitor?.answered('b', answer);
    expect(answer.ok).toBe(true);
    expectConverged(providerId, id);
  }, 20_000);

  it.each([[0], [30], [90]])(
    'N3. an HTTP rotation with an unknown outcome, then RotateSecret re-attempting its version races its same-key retry (%i ms later)',
    async (offsetMs) => {
      const { id, name } = await rotatedCluster(providerId);
      harness().addFault({ operation: 'reset', clusterId: id, applyThenDrop: true });
      const a = request(providerId, id, `a-${id}`);
      expect((await invoke(suite, a)).name).toBe('ProviderUnavailable');
      const version = versionOf(suite, name, 'AWSPENDING') as string;
      const password = stored(providerId, id, 'AWSPENDING') as string;
      expect(harness().clusterPassword(id)).toBe(password);

      const [run, retry] = await Promise.all([
        rotateSecret(suite, fn(), name),
        sleep(offsetMs).then(() => untilSettled(() => invoke(suite, a), 3_000, 20)),
      ]);
      monitor?.answered('a retried', retry);
      expect(retry.ok).toBe(true);
      expect(retry.result?.password?.versionId).toBe(version);
      // Secrets Manager took the HTTP version for an unfinished rotation of its own.
      expect(run).toMatchObject({ reattempted: true, token: version });
      if (!run.finished) {
        // It met the retry's lease: its own retry then finds the version current.
        expect(run.failed).toBe('RotationInProgress');
        const again = await retryRotation(suite, fn(), name, version);
        expect(again.finished).toBe(true);
      }
      expect(everCurrent(name, version)).toBe(true);
      expect(harness().clusterPassword(id)).toBe(password);
      expectConverged(providerId, id);
    },
  );

  it('N4. createSecret racing an HTTP rotation: the young empty AWSPENDING is a rotation in progress; both end done', async () => {
    const { id, name } = await rotatedCluster(providerId);
    const { native, token, release } = await heldAtCreateSecret(fn(), name);
    expect(token).toBeDefined();
    const resets = harness().calls(id, 'reset').length;
    const b = request(providerId, id, `b-${id}`);
    expect((await invoke(suite, b)).name).toBe('RotationInProgress');
    expect(versionOf(suite, name, 'AWSPENDING')).toBe(token);
    expect(harness().calls(id, 'reset').length).toBe(resets);

    // Now both at once: whichever holds the lease, neither loses the other's password.
    release();
    const [run, answer] = await Promise.all([native, untilSettled(() => invoke(suite, b), 4_000, 20)]);
    monitor?.answered('b', answer);
    expect(answer.ok).toBe(true);
    expect(run.token).toBe(token);
    if (run.finished) expect(everCurrent(name, token)).toBe(true);
    else {
      // Or a step met the HTTP caller's lease. Filled by createSecret, the version was rolled
      // forward by the HTTP rotation; still empty, it was discarded once abandoned.
      expect(run.steps.at(-1)).toEqual(
        failed(run.steps.at(-1)?.step as NativeStep['step'], 'RotationInProgress'),
      );
      const filled = run.steps.some((s) => s.step === 'createSecret' && s.ok);
      expect(everCurrent(name, token)).toBe(filled);
    }
    expectConverged(providerId, id);
  });

  it('N4b. an empty AWSPENDING older than a lease is abandoned: an HTTP rotation discards it, the late createSecret refuses, a new RotateSecret works', async () => {
    const { id, name } = await rotatedCluster(providerId);
    const { native, token, release } = await heldAtCreateSecret(fn(), name);
    const b = request(providerId, id, `b-${id}`);
    expect((await invoke(suite, b)).name).toBe('RotationInProgress');
    await sleep(LEASE_MS + 150);
    const answer = await untilSettled(() => invoke(suite, b), 3_000, 50);
    monitor?.answered('b', answer);
    expect(answer.ok).toBe(true);
    // createSecret comes late: its version is no longer pending, and it stays empty.
    release();
    const run = await native;
    expect(run.steps).toEqual([failed('createSecret', 'ValidationFailed')]);
    expect(suite.sandbox.aws.secrets.get(name)?.versions.get(token)?.value).toBeUndefined();
    monitor?.check('after the late createSecret');
    const next = await rotateSecret(suite, fn(), name);
    expect(next).toMatchObject({ reattempted: false, finished: true });
    expect(next.token).not.toBe(token);
    expectConverged(providerId, id);
  });

  it('N5. setSecret refused for good: the version is discarded and never sent again, the retry answers the same refusal, a new RotateSecret works', async () => {
    const { id, name } = await rotatedCluster(providerId);
    const refusal = harness().resetAnswers.find(
      (a) => a.code === 'PROVIDER_REJECTED' && a.fault.status === 400,
    );
    harness().addFault({ operation: 'reset', clusterId: id, ...refusal?.fault });
    const first = await rotateSecret(suite, fn(), name);
    expect(first.steps).toEqual([ok('createSecret'), failed('setSecret', 'ProviderRejected')]);
    expect(versionOf(suite, name, 'AWSPENDING')).toBeUndefined();
    monitor?.check('after the refusal');
    const resets = harness().calls(id, 'reset').length;

    // Secrets Manager's retry with the same token: the same refusal, at every step, nothing sent.
    const secretId = suite.sandbox.aws.secrets.get(name)?.arn as string;
    const refused = (await invokeStep(suite, {
      providerId,
      step: 'setSecret',
      secretId,
      token: first.token,
    })) as Answer;
    expect(refused).toMatchObject({ ok: false, name: 'ProviderRejected' });
    const retry = await retryRotation(suite, fn(), name, first.token);
    expect(retry.steps).toEqual([failed('createSecret', 'ProviderRejected')]);
    expect(harness().calls(id, 'reset').length).toBe(resets);

    // Nothing is pending: RotateSecret starts a new rotation, which works.
    const next = await rotateSecret(suite, fn(), name);
    expect(next).toMatchObject({ reattempted: false, finished: true });
    expect(next.token).not.toBe(first.token);
    expect(harness().calls(id, 'reset').length).toBe(resets + 1);
    expectConverged(providerId, id);
  });
});
