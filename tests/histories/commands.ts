import fc from 'fast-check';
import { ROTATION_STEPS, type RotationStep } from '../../sandbox/aws.ts';
import type { InjectedFault } from '../../sandbox/http-util.ts';
import {
  addFault,
  assertInvariant,
  CHILD_TIMEOUT_MS,
  clearFaults,
  describeAnswer,
  figures,
  type History,
  holdReset,
  JUMPS,
  jump,
  killedAt,
} from './history.ts';
import {
  invoke,
  invokeStep,
  type NativeRun,
  type Request,
  retryRotation,
  rotateSecret,
  sleep,
} from './world.ts';

// The explorer's commands (fast-check's model-based testing): callers in every mode, Secrets
// Manager's own rotation, a held call landing or dropped, and time passing. Each prints as one line
// of a history's script, e.g.
//   http(key=A, stored) | dynamodb PutItem lease: applied-answer-lost-sdk-retries | kill at call 3
// The model holds what decides which commands may run next: whether the sandbox holds a call, and
// whether Secrets Manager has a token to retry.

export interface Model {
  held: boolean;
  nativeRan: boolean;
}

/**
 * Dimensions that today's rotation is known to fail (issue 19), off unless HISTORY_DIMENSIONS
 * names them (`all`, or a list such as `sdk-retry,time`):
 *   sdk-retry  AWS writes applied whose answer is lost (once: the SDK's retry meets its own write and
 *              answers; on every attempt: each retry meets the write before it, and the call fails);
 *   time       record TTLs elapsing (8 days) and Secrets Manager's next window (30 days);
 *   unstored   callers with storePassword: false (key D);
 *   dry-run    dry runs of another cluster under a key already bound to this one.
 */
export const DIMENSION_NAMES = ['sdk-retry', 'time', 'unstored', 'dry-run'] as const;
export type Dimension = (typeof DIMENSION_NAMES)[number];

export const parseDimensions = (text: string | undefined): Set<Dimension> => {
  const names = (text ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.includes('all')) return new Set(DIMENSION_NAMES);
  for (const name of names) {
    if (!(DIMENSION_NAMES as readonly string[]).includes(name))
      throw new Error(
        `HISTORY_DIMENSIONS: unknown dimension ${name} (one of all, ${DIMENSION_NAMES.join(', ')})`,
      );
  }
  return new Set(names as Dimension[]);
};

// Faults: where, what, and on which of the matching calls.

const DYNAMO = 'DynamoDB_20120810.';
const item = (kind: string) => `"pk":\\{"S":"${kind}#`;

/** Every AWS call a rotation makes that a fault can hit, by the name a script shows. */
const AWS_TARGETS: Record<string, { operation: string; write: boolean; bodyPattern?: string }> = {
  'secretsmanager PutSecretValue': { operation: 'secretsmanager.PutSecretValue', write: true },
  'secretsmanager UpdateSecretVersionStage': {
    operation: 'secretsmanager.UpdateSecretVersionStage',
    write: true,
  },
  'secretsmanager DescribeSecret': { operation: 'secretsmanager.DescribeSecret', write: false },
  'secretsmanager GetSecretValue': { operation: 'secretsmanager.GetSecretValue', write: false },
  // The lease's acquire and re-entry.
  'dynamodb PutItem lease': { operation: `${DYNAMO}PutItem`, write: true, bodyPattern: item('lease') },
  'dynamodb PutItem key': { operation: `${DYNAMO}PutItem`, write: true, bodyPattern: item('key') },
  'dynamodb PutItem version': { operation: `${DYNAMO}PutItem`, write: true, bodyPattern: item('version') },
  // The lease's hand-over and release.
  'dynamodb UpdateItem': { operation: `${DYNAMO}UpdateItem`, write: true },
  'dynamodb DeleteItem': { operation: `${DYNAMO}DeleteItem`, write: true },
  'dynamodb GetItem': { operation: `${DYNAMO}GetItem`, write: false },
};

const WRITE_KINDS = ['error', 'dropped', 'applied-answer-lost', 'applied-answer-lost-sdk-retries'] as const;
const READ_KINDS = ['error', 'dropped'] as const;
const RESET_KINDS = [
  'refused',
  'busy',
  'throttled',
  'unavailable',
  'dropped',
  'applied-answer-lost',
  'late',
] as const;
const STATE_KINDS = ['unavailable', 'dropped'] as const;

export interface FaultSpec {
  target: string;
  kind: string;
  /** Which of the matching calls it hits: 1 for the first. */
  nth: 1 | 2;
}

const faultText = (f: FaultSpec) => `${f.target}${f.nth === 2 ? ' (2nd call)' : ''}: ${f.kind}`;

/** The SDK makes three attempts: a fault on all three fails the call, on one it is retried. */
const AWS_FAULTS: Record<string, Omit<InjectedFault, 'operation'>> = {
  error: { status: 500, body: { __type: 'InternalServerError', message: 'injected' }, times: 3 },
  dropped: { drop: true, times: 3 },
  'applied-answer-lost': { applyThenDrop: true, times: 3 },
  'applied-answer-lost-sdk-retries': { applyThenDrop: true, times: 1 },
};

/** The provider's answer of a kind, as this provider's harness words it. */
const providerFault = (h: History, kind: string): Omit<InjectedFault, 'operation'> => {
  if (kind === 'dropped') return { drop: true };
  if (kind === 'applied-answer-lost') return { applyThenDrop: true };
  const code = {
    refused: 'PROVIDER_REJECTED',
    busy: 'CLUSTER_STATE_CONFLICT',
    throttled: 'PROVIDER_THROTTLED',
    unavailable: 'PROVIDER_UNAVAILABLE',
  }[kind];
  const answer = h.suite
    .harness(h.providerId)
    .resetAnswers.find((a) => a.code === code && a.fault.status !== undefined && !a.fault.delayMs);
  if (!answer) throw new Error(`no ${kind} answer for ${h.providerId}`);
  return answer.fault;
};

const injectFault = (h: History, f: FaultSpec): void => {
  const skip = f.nth - 1;
  if (f.target === 'provider reset' && f.kind === 'late') {
    holdReset(h, skip);
    return;
  }
  if (f.target.startsWith('provider ')) {
    addFault(h, { operation: f.target.slice('provider '.length), skip, ...providerFault(h, f.kind) });
    return;
  }
  const target = AWS_TARGETS[f.target];
  if (!target) throw new Error(`unknown fault target ${f.target}`);
  addFault(h, {
    operation: target.operation,
    skip,
    ...(target.bodyPattern === undefined ? {} : { bodyPattern: target.bodyPattern }),
    ...AWS_FAULTS[f.kind],
  });
};

/** Weighted towards what loses passwords: late applies and lost answers. */
const weighted = <T>(entries: Array<[T, number]>): fc.Arbitrary<T> =>
  fc.oneof(...entries.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));

const faultArbitrary = (dimensions: Set<Dimension>): fc.Arbitrary<FaultSpec> => {
  const nth = weighted<1 | 2>([
    [1, 3],
    [2, 1],
  ]);
  const of = (targets: string[], kinds: fc.Arbitrary<string>) =>
    fc.record({ target: fc.constantFrom(...targets), kind: kinds, nth });
  const names = Object.keys(AWS_TARGETS);
  const resetKinds = weighted(RESET_KINDS.map((k): [string, number] => [k, k === 'late' ? 6 : 1]));
  // Every attempt of a write applied and its answer lost is a retry meeting its own write as well.
  const writeKinds = weighted(
    WRITE_KINDS.filter((k) => !k.startsWith('applied') || dimensions.has('sdk-retry')).map(
      (k): [string, number] => [
        k,
        k === 'applied-answer-lost-sdk-retries' ? 3 : k.startsWith('applied') ? 2 : 1,
      ],
    ),
  );
  // The lease's acquire decides who may send: it gets as many faults as the other writes together.
  const writes = names.filter((n) => AWS_TARGETS[n]?.write);
  const reads = names.filter((n) => !AWS_TARGETS[n]?.write);
  return fc.oneof(
    { weight: 4, arbitrary: of(['provider reset'], resetKinds) },
    { weight: 1, arbitrary: of(['provider state'], fc.constantFrom(...STATE_KINDS)) },
    { weight: 2, arbitrary: of(['dynamodb PutItem lease'], writeKinds) },
    { weight: 2, arbitrary: of(writes, writeKinds) },
    { weight: 1, arbitrary: of(reads, fc.constantFrom(...READ_KINDS)) },
  );
};

const hasLate = (faults: FaultSpec[]) => faults.some((f) => f.kind === 'late');
const withFaults = (text: string, faults: FaultSpec[], kill?: string) =>
  [text, ...faults.map(faultText), ...(kill ? [kill] : [])].join(' | ');

// Callers.

type Mode = 'http' | 'eventbridge' | 'stepfunctions';

/**
 * Keys A and B: stored, generated passwords; C: a supplied password, stored; D: a supplied password
 * with storePassword false; `new`: a key never used before (a schedule, a caller without a key);
 * `again`: the previous call's request once more (a retry right after it answered).
 */
export interface Caller {
  key: 'A' | 'B' | 'C' | 'D' | 'new' | 'again';
  mode: Mode;
}

const callerText = ({ key, mode }: Caller) =>
  key === 'again'
    ? 'the previous call again (stepfunctions(key=A, stored) if none)'
    : `${mode}(key=${key}, ${key === 'D' ? 'unstored' : key === 'C' ? 'stored, supplied' : 'stored'})`;

const requestFor = (h: History, caller: Caller): Request => {
  if (caller.key === 'again') return h.lastRequest ?? requestFor(h, { key: 'A', mode: 'stepfunctions' });
  const harness = h.suite.harness(h.providerId);
  const key = caller.key === 'new' ? `new${++h.fresh}-${h.clusterId}` : `${caller.key}-${h.clusterId}`;
  const base: Request = {
    providerId: h.providerId,
    clusterId: h.clusterId,
    key,
    mode: caller.mode === 'stepfunctions' ? 'direct' : caller.mode,
  };
  if (caller.key !== 'C' && caller.key !== 'D') return base;
  const password = `${harness.validPassword.slice(0, 8)}${caller.key === 'C' ? 3 : 4}${figures.histories}x!`;
  h.suite.secretsUsed.add(password);
  if (caller.key === 'D') h.monitor.unstored.add(password);
  return { ...base, password, ...(caller.key === 'D' ? { storePassword: false } : {}) };
};

type Command = fc.AsyncCommand<Model, History>;

/** One invocation by a caller, in this process or in a child process killed at its `killAt`-th call. */
export const callCommand = (caller: Caller, faults: FaultSpec[], killAt: number | undefined): Command => ({
  check(m) {
    if (killAt !== undefined && hasLate(faults)) return false;
    return !m.held || (killAt === undefined && !hasLate(faults));
  },
  async run(m, h) {
    const label = String(this);
    h.log.push(label);
    figures.commands++;
    figures.invocations++;
    const request = requestFor(h, caller);
    for (const fault of faults) injectFault(h, fault);
    const started = Date.now();
    const answer = killAt === undefined ? await invoke(h.suite, request) : await killedAt(h, request, killAt);
    clearFaults(h);
    h.log.push(`  → ${describeAnswer(answer)} (${Date.now() - started} ms)`);
    h.keys.set(request.key, { request, last: answer });
    h.lastRequest = request;
    h.monitor.answered(label, answer, request);
    m.held = h.held !== undefined;
    assertInvariant(h, label);
  },
  toString: () =>
    withFaults(callerText(caller), faults, killAt === undefined ? undefined : `kill at call ${killAt}`),
});

/**
 * A dry run of another cluster under key A: once A is bound to a request for this cluster, the key's
 * binding must refuse it (VALIDATION_FAILED), as for any request, until the key's record expires.
 */
export const dryRunCommand = (mode: Mode): Command => ({
  check: () => true,
  async run(_m, h) {
    const label = String(this);
    h.log.push(label);
    figures.commands++;
    figures.invocations++;
    const key = `A-${h.clusterId}`;
    const entry = h.keys.get(key);
    const bound = entry?.expired ? undefined : entry?.last;
    const answer = await invoke(h.suite, {
      providerId: h.providerId,
      clusterId: h.otherClusterId,
      key,
      mode: mode === 'stepfunctions' ? 'direct' : mode,
      dryRun: true,
    });
    h.log.push(`  → ${describeAnswer(answer)}`);
    if (bound !== undefined && bound !== 'killed' && bound.ok && answer.name !== 'ValidationFailed')
      h.monitor.violations.push(
        `${label}: answered ${describeAnswer(answer)} under a key bound to another cluster`,
      );
    assertInvariant(h, label);
  },
  toString: () => `${mode}(key=A, dry run of another cluster)`,
});

/**
 * Secrets Manager's own rotation: RotateSecret (a new token, or a re-attempt of the pending one), or
 * its retry of the last token from a step; `kill` runs one step in a child process killed there.
 */
export const nativeCommand = (
  how: 'rotate' | 'retry',
  from: RotationStep,
  faults: FaultSpec[],
  kill: { step: RotationStep; atCall: number } | undefined,
): Command => ({
  check(m) {
    if (how === 'retry' && !m.nativeRan) return false;
    if (kill && hasLate(faults)) return false;
    return !m.held || (!kill && !hasLate(faults));
  },
  async run(m, h) {
    const label = String(this);
    h.log.push(label);
    figures.commands++;
    h.fn.runner = (step) =>
      kill && step.step === kill.step ? killedAt(h, step, kill.atCall) : invokeStep(h.suite, step);
    for (const fault of faults) injectFault(h, fault);
    let run: NativeRun;
    try {
      run =
        how === 'retry' && h.native.token !== undefined
          ? await retryRotation(h.suite, h.fn, h.secretName, h.native.token, from)
          : await rotateSecret(h.suite, h.fn, h.secretName);
    } finally {
      h.fn.runner = (step) => invokeStep(h.suite, step);
      clearFaults(h);
    }
    nativeRan(h, run, how === 'retry');
    m.nativeRan = true;
    m.held = h.held !== undefined;
    assertInvariant(h, label);
  },
  toString: () =>
    withFaults(
      how === 'rotate' ? 'native RotateSecret' : `native retry of the last token from ${from}`,
      faults,
      kill && `kill at ${kill.step} call ${kill.atCall}`,
    ),
});

const nativeRan = (h: History, run: NativeRun, retried: boolean): void => {
  figures.nativeRotations++;
  if (retried || run.reattempted) figures.nativeRetries++;
  h.native = {
    token: run.token,
    finished: run.finished,
    ...(run.steps.find((s) => !s.ok) ? { failedStep: run.steps.find((s) => !s.ok)?.step } : {}),
  };
  h.log.push(
    `  ${run.reattempted ? 're-attempted' : 'token'} ${run.token.slice(0, 8)} → ${run.finished ? 'finished' : run.failed}`,
  );
};

// The held call, and time.

/** The call the sandbox holds lands (or is dropped), within its lease or once the lease has expired. */
export const releaseCommand = (verdict: 'apply' | 'drop', afterLease: boolean): Command => ({
  check: (m) => m.held,
  async run(m, h) {
    const label = String(this);
    h.log.push(`${label}: ${h.held?.what}`);
    figures.commands++;
    if (afterLease) await jump(h, JUMPS.lease, 'the lease expires first');
    await h.held?.release(verdict);
    h.held = undefined;
    m.held = false;
    assertInvariant(h, label);
  },
  toString: () =>
    `the held call ${verdict === 'apply' ? 'lands' : 'is dropped'}${afterLease ? ', after the lease expired' : ''}`,
});

export type TimeKind = 'pause' | 'lease' | 'records' | 'window';

/** Long enough for a killed invocation's deadline to pass, short of the lease. */
const PAUSE_MS = CHILD_TIMEOUT_MS + 50;

const TIME_TEXT: Record<TimeKind, string> = {
  pause: `time: ${PAUSE_MS} ms pass (a killed invocation's deadline)`,
  lease: 'time: the lease expires',
  records: 'time: 8 days pass (records expire)',
  window: "time: 30 days pass, Secrets Manager's next window: RotateSecret",
};

/** Time passes. */
export const timeCommand = (kind: TimeKind): Command => ({
  // A call in flight lands within its lease: time does not outrun it (a release may, after the lease).
  check: (m) => !m.held,
  async run(m, h) {
    const label = String(this);
    h.log.push(label);
    figures.commands++;
    if (kind === 'pause') await sleep(PAUSE_MS);
    else await jump(h, JUMPS[kind], kind);
    // Days pass: a key answered for good has had its record's retention run out.
    if (kind === 'records' || kind === 'window') {
      for (const entry of h.keys.values()) if (entry.last !== 'killed' && entry.last.ok) entry.expired = true;
    }
    if (kind === 'window') {
      nativeRan(h, await rotateSecret(h.suite, h.fn, h.secretName), false);
      m.nativeRan = true;
    }
    assertInvariant(h, label);
  },
  toString: () => TIME_TEXT[kind],
});

/** The commands of one history; `maxCommands` bounds its length. */
export const historyCommands = (dimensions: Set<Dimension>, maxCommands: number, replayPath?: string) => {
  const faults = fc.array(faultArbitrary(dimensions), { maxLength: 2 });
  // Same keys more often than new ones: retries are where rotations meet.
  const caller: fc.Arbitrary<Caller> = fc.oneof(
    { weight: 3, arbitrary: fc.constant<Caller>({ key: 'again', mode: 'stepfunctions' }) },
    {
      weight: 6,
      arbitrary: fc.record({
        key: weighted<Caller['key']>([
          ['A', 3],
          ['B', 2],
          ['new', 2],
        ]),
        mode: fc.constantFrom<Mode>('http', 'eventbridge', 'stepfunctions'),
      }),
    },
    { weight: 1, arbitrary: fc.constant<Caller>({ key: 'C', mode: 'http' }) },
    ...(dimensions.has('unstored')
      ? [{ weight: 1, arbitrary: fc.constant<Caller>({ key: 'D', mode: 'http' }) }]
      : []),
  );
  const kill = fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 14 }) },
  );
  const call = fc.tuple(caller, faults, kill).map(([caller, f, k]) => callCommand(caller, f, k));
  const nativeKill = fc.option(
    fc.record({ step: fc.constantFrom(...ROTATION_STEPS), atCall: fc.integer({ min: 1, max: 10 }) }),
    { freq: 5 },
  );
  const native = fc
    .tuple(
      fc.constantFrom('rotate' as const, 'retry' as const),
      fc.constantFrom(...ROTATION_STEPS),
      faults,
      nativeKill,
    )
    .map(([how, from, f, k]) => nativeCommand(how, from, f, k ?? undefined));
  const release = fc
    .tuple(fc.constantFrom('apply' as const, 'drop' as const), fc.boolean())
    .map(([verdict, afterLease]) => releaseCommand(verdict, afterLease));
  const kinds: TimeKind[] = [
    'pause',
    'lease',
    ...(dimensions.has('time') ? (['records', 'window'] as const) : []),
  ];
  const time = fc.constantFrom(...kinds).map((kind) => timeCommand(kind));
  const dryRun = fc
    .constantFrom<Mode>('http', 'eventbridge', 'stepfunctions')
    .map((mode) => dryRunCommand(mode));
  const optional = dimensions.has('dry-run') ? [dryRun] : [];
  return fc.commands([call, call, call, native, release, time, ...optional], {
    maxCommands,
    size: 'max',
    ...(replayPath === undefined ? {} : { replayPath }),
  });
};
