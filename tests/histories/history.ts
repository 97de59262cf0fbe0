import type { RotationStep } from '../../sandbox/aws.ts';
import type { InjectedFault } from '../../sandbox/http-util.ts';
import type { Suite } from '../integration/suite.ts';
import {
  type Answer,
  deferred,
  invoke,
  invokeInChild,
  type Monitor,
  type NativeStep,
  RETRYABLE,
  type Request,
  type RotationFunction,
  rotateSecret,
  sleep,
  untilSettled,
  versionOf,
  watch,
} from './world.ts';

// One history of the explorer (explore.test.ts): a cluster rotated once, the callers' keys, the
// sandbox's faults and clock, and at most one call the sandbox holds (a reset the provider applies
// late, or the call a killed invocation left in flight). Commands (commands.ts) act on it; the
// monitor of world.ts checks the invariant after every one of them.

export const LEASE_MS = 1_000;
/** A child process's invocation deadline: its lease holder's deadline passes this long after it starts. */
export const CHILD_TIMEOUT_MS = 700;
const DAY_MS = 86_400_000;

/** How far each kind of time jump moves the sandbox's clock. */
export const JUMPS = {
  lease: LEASE_MS + 1_000,
  records: 8 * DAY_MS,
  window: 30 * DAY_MS,
} as const;

/** What a run of the explorer did, for the closing figures. */
export const figures = {
  histories: 0,
  commands: 0,
  invocations: 0,
  faults: 0,
  lateApplies: 0,
  kills: 0,
  timeJumps: 0,
  nativeRotations: 0,
  nativeRetries: 0,
  violations: 0,
};

/** A call the sandbox holds until the history lets it apply or drops it. */
export interface Held {
  what: string;
  release(verdict: 'apply' | 'drop'): Promise<void>;
}

export interface History {
  suite: Suite;
  providerId: string;
  clusterId: string;
  /** Another cluster of the same provider, never rotated: dry runs under this history's keys target it. */
  otherClusterId: string;
  secretName: string;
  monitor: Monitor;
  fn: RotationFunction;
  /** Each key's request and the last answer it got (a key settles once it is ok or refused for good). */
  /**
   * Each key's last request and answer; `expired` once its records' retention has passed (a key
   * answered for good is kept 7 days: after that it binds nothing).
   */
  keys: Map<string, { request: Request; last: Answer | 'killed'; expired?: boolean }>;
  native: { token?: string; failedStep?: RotationStep; finished: boolean };
  held?: Held;
  /** The last caller's request (what a retry sends again). */
  lastRequest?: Request;
  /** How many `new` keys were used. */
  fresh: number;
  log: string[];
}

/** A cluster with its first rotation done, watched, and its rotation function heard by the monitor. */
export const startHistory = async (
  suite: Suite,
  fn: RotationFunction,
  providerId: string,
): Promise<History> => {
  const { id } = suite.cluster(providerId);
  // Watched from the end of its first rotation: until then the secret does not know the cluster's
  // initial password. On a busy machine the provider's 250 ms can run out: retried, as a caller would.
  const base = await untilSettled(
    () => invoke(suite, { providerId, clusterId: id, key: `base-${id}`, mode: 'direct' }),
    3 * LEASE_MS,
  );
  if (!base.ok) throw new Error(`the first rotation failed: ${base.name}`);
  const h: History = {
    suite,
    providerId,
    clusterId: id,
    otherClusterId: suite.cluster(providerId).id,
    secretName: suite.secretName(providerId, id),
    monitor: watch(suite, providerId, id),
    fn,
    keys: new Map(),
    native: { finished: false },
    fresh: 0,
    log: [`${providerId} cluster ${id}, rotated once`],
  };
  figures.histories++;
  fn.onAnswer = (step, answer) => {
    const label = `${step.step} of ${step.token.slice(0, 8)}`;
    h.log.push(`    ${label} → ${answer === 'killed' ? 'killed' : answer.ok ? 'ok' : answer.name}`);
    h.monitor.answeredStep(label, step, answer);
    h.monitor.check(label);
  };
  return h;
};

/** Fails the history at the first violation of the invariant. */
export const assertInvariant = (h: History, label: string): void => {
  h.monitor.check(label);
  if (h.monitor.violations.length > 0) {
    figures.violations++;
    throw new Error(`VIOLATION ${h.monitor.violations.join('; ')}`);
  }
};

export const describeAnswer = (answer: Answer | 'killed'): string =>
  answer === 'killed' ? 'killed' : answer.ok ? 'ok' : (answer.name ?? 'failed');

export const settled = (answer: Answer | 'killed' | undefined): boolean =>
  answer !== undefined && answer !== 'killed' && (answer.ok || !RETRYABLE.has(answer.name ?? ''));

const providerSimulator = (h: History) =>
  h.providerId === 'ncloud-cdss' ? h.suite.sandbox.ncloud : h.suite.sandbox.otc;

export const clearFaults = (h: History): void => {
  for (const queue of [providerSimulator(h).faults, h.suite.sandbox.aws.faults, h.suite.sandbox.dynamoFaults])
    queue.clear();
};

/** Queues a fault where it belongs: `provider …`, `secretsmanager.…` or `DynamoDB_20120810.…`. */
export const addFault = (h: History, fault: InjectedFault): void => {
  figures.faults++;
  if (fault.operation === 'reset' || fault.operation === 'state') {
    h.suite.harness(h.providerId).addFault({ ...fault, clusterId: h.clusterId });
  } else if (fault.operation.startsWith('secretsmanager.')) {
    h.suite.sandbox.aws.faults.add(fault);
  } else {
    h.suite.sandbox.dynamoFaults.add(fault);
  }
};

/** Holds the provider's next reset of the cluster: it lands when the history releases it. */
export const holdReset = (h: History, skip: number): void => {
  const release = deferred<'apply' | 'drop'>();
  addFault(h, {
    operation: 'reset',
    skip,
    hold: () => {
      figures.lateApplies++;
      h.held = heldCall('the reset the provider applies late', release.resolve);
      return release.promise;
    },
  });
};

const heldCall = (what: string, resolve: (verdict: 'apply' | 'drop') => void): Held => ({
  what,
  release: async (verdict) => {
    resolve(verdict);
    // The sandbox handles the released call on its own; let it land before the history goes on.
    await sleep(30);
  },
});

/** Lets time pass for the sandbox (leases and records expire, Secrets Manager's dates age). */
export const jump = async (h: History, ms: number, why: string): Promise<void> => {
  figures.timeJumps++;
  const { expired } = await h.suite.sandbox.advanceClock(ms);
  // The simulated clusters' busy time after a reset runs on the real clock: let it pass too.
  await sleep(50);
  h.log.push(`  time: ${why} (${expired} items expired)`);
};

/**
 * Runs one invocation in a child process and kills it while the sandbox holds the `atCall`-th call
 * it makes (to a provider, Secrets Manager, SSM, EventBridge or DynamoDB): the call stays in flight
 * for the history to apply or drop. A child that finishes first answers as it did.
 */
export const killedAt = async (
  h: History,
  request: Request | NativeStep,
  atCall: number,
): Promise<Answer | 'killed'> => {
  const reached = deferred<string>();
  const release = deferred<'apply' | 'drop'>();
  let calls = 0;
  const hold = (operation: string): Promise<'apply' | 'drop'> => {
    calls++;
    if (calls !== atCall) return Promise.resolve('apply');
    reached.resolve(operation);
    return release.promise;
  };
  const every: InjectedFault = { operation: '*', times: 10_000, hold };
  h.suite.harness(h.providerId).addFault({ ...every, clusterId: h.clusterId });
  h.suite.sandbox.aws.faults.add(every);
  h.suite.sandbox.dynamoFaults.add(every);
  const child = invokeInChild(h.suite, request, CHILD_TIMEOUT_MS);
  const outcome = await Promise.race([reached.promise.then((operation) => ({ operation })), child.answer]);
  clearFaults(h);
  if (typeof outcome === 'string' || !('operation' in outcome)) {
    h.log.push(`  the child made ${calls} calls and finished before call ${atCall}`);
    return outcome;
  }
  child.kill();
  await child.answer;
  figures.kills++;
  h.held = heldCall(`${outcome.operation} of a killed invocation`, release.resolve);
  h.log.push(`  killed while the sandbox held call ${atCall}: ${outcome.operation}`);
  return 'killed';
};

/** The end of every history: nothing more fails, every caller retries until it is done, then a last rotation. */
export const settleHistory = async (h: History): Promise<void> => {
  await h.held?.release('apply');
  h.held = undefined;
  clearFaults(h);
  await jump(h, JUMPS.lease, 'the end: every lease expires');
  for (const [key, { request, last }] of h.keys) {
    if (settled(last)) continue;
    const answer = await untilDone(h, request, `settling ${key}`);
    h.keys.set(key, { request, last: answer });
    // A key's life ends with one clear answer, not a retryable error that never clears.
    if (!settled(answer))
      h.monitor.violations.push(`${key} never settled: ${describeAnswer(answer)} at every retry`);
  }
  if (h.native.token !== undefined && !h.native.finished) await settleNative(h);
  await jump(h, JUMPS.lease, 'quiet');
  assertInvariant(h, 'quiet');
  const final = await untilDone(
    h,
    { providerId: h.providerId, clusterId: h.clusterId, key: `final-${h.clusterId}`, mode: 'direct' },
    'final rotation',
  );
  const current = h.suite.sandbox.aws.secretValue(h.secretName)?.password as string;
  h.suite.secretsUsed.add(current);
  const { violations } = h.monitor;
  if (!settled(final) || final === 'killed' || !final.ok)
    violations.push(`the final rotation did not converge: ${describeAnswer(final)}`);
  else if (h.suite.harness(h.providerId).clusterPassword(h.clusterId) !== current)
    violations.push('final: the provider does not hold AWSCURRENT');
  if (versionOf(h.suite, h.secretName, 'AWSPENDING') !== undefined)
    violations.push('final: an AWSPENDING version is left');
  assertInvariant(h, 'final');
};

/** Retries as Step Functions would, letting the lease run out whenever a rotation is in progress. */
const untilDone = async (h: History, request: Request, label: string): Promise<Answer | 'killed'> => {
  let answer: Answer | 'killed' = 'killed';
  for (let attempt = 0; attempt < 6 && !settled(answer); attempt++) {
    const next = await invoke(h.suite, request);
    answer = next;
    figures.invocations++;
    h.log.push(`${label} → ${describeAnswer(answer)}`);
    h.monitor.answered(label, answer, request);
    assertInvariant(h, label);
    if (next.name === 'RotationInProgress') await jump(h, JUMPS.lease, 'the lease runs out');
    else if (!settled(answer)) await sleep(60);
  }
  return answer;
};

/** Secrets Manager re-attempts an unfinished rotation until one finishes. */
const settleNative = async (h: History): Promise<void> => {
  for (let attempt = 0; attempt < 5 && !h.native.finished; attempt++) {
    const run = await rotateSecret(h.suite, h.fn, h.secretName);
    figures.nativeRotations++;
    if (run.reattempted) figures.nativeRetries++;
    h.native = { token: run.token, finished: run.finished };
    h.log.push(`settling Secrets Manager's rotation → ${run.finished ? 'finished' : run.failed}`);
    if (!run.finished) await jump(h, JUMPS.lease, 'the lease runs out');
  }
};

/** Leaves nothing behind for the next history: no held call, no fault, no listener. */
export const endHistory = async (h: History): Promise<void> => {
  await h.held?.release('drop');
  h.held = undefined;
  clearFaults(h);
  h.monitor.stop();
  h.fn.reset();
};
