import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RotationStep } from '../../sandbox/aws.ts';
import type { InjectedFault } from '../../sandbox/http-util.ts';
import { report, useSuite } from '../integration/suite.ts';
import {
  type Answer,
  deferred,
  invoke,
  invokeInChild,
  invokeStep,
  type Mode,
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

// Seeded, reproducible exploration of histories: several callers of one cluster (same and new
// keys, stored and unstored, in all three modes, and Secrets Manager's own rotation: RotateSecret
// with a new token or re-attempting whichever version is pending, or its retry of an earlier
// token's steps), random faults at every provider and AWS call
// (error answers, dropped connections, writes applied whose answer is lost, resets the provider
// applies after the caller gave up) and process kills while the sandbox holds a call. After every
// step and at the end: the invariant of world.ts. A failing history prints its seed and steps.
//
//   npm run test:histories -- --runs 200 [--seed 42]

const RUNS = Number(process.env.HISTORY_RUNS ?? 12);
const SEED = Number(process.env.HISTORY_SEED ?? 20_261_129);
const LEASE_MS = 1_000;
const CHILD_TIMEOUT_MS = 700;

const suite = useSuite({
  env: { LEASE_SECONDS: String(LEASE_MS / 1000), PROVIDER_TIMEOUT_MS: '250', DEADLINE_RESERVE_MS: '150' },
  changingMs: 40,
});

const rotationFunctions = new Map<string, RotationFunction>();
beforeAll(() => {
  for (const providerId of ['ncloud-cdss', 'otc-css'])
    rotationFunctions.set(providerId, registerRotationFunction(suite, providerId));
});

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
const random = (seed: number) => {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    chance: (p: number) => next() < p,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
};
type Random = ReturnType<typeof random>;

const totals = {
  histories: 0,
  steps: 0,
  attempts: 0,
  nativeRotations: 0,
  nativeReattempts: 0,
  nativeSteps: 0,
  faults: 0,
  kills: 0,
  lateApplies: 0,
  lostWrites: 0,
};

interface Caller {
  name: string;
  key: string;
  mode: Mode;
  /** Secrets Manager's own rotation: RotateSecret, or its retry of the last token's steps. */
  native: boolean;
  /** A native caller's last token, and the step of it that failed. */
  token?: string;
  failedStep?: RotationStep;
  /** How many more rotations it finishes before it is done (a schedule rotates again). */
  rotationsLeft?: number;
  password?: string;
  storePassword: boolean;
  /** A schedule or a retry without Idempotency-Key: every attempt has a new key. */
  newKeyEachAttempt: boolean;
  done: boolean;
  attempt: number;
}

const AWS_WRITES = ['PutSecretValue', 'UpdateSecretVersionStage', 'CreateSecret'];
const AWS_OPERATIONS = ['DescribeSecret', 'GetSecretValue', ...AWS_WRITES];
const DYNAMO_OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'];

/** Injects 0–2 random faults for the next attempt; returns what it injected, for the history's log. */
const injectFaults = (rng: Random, providerId: string, clusterId: string, lateShare: number): string[] => {
  const harness = suite.harness(providerId);
  const injected: string[] = [];
  const count = rng.chance(0.55) ? (rng.chance(0.3) ? 2 : 1) : 0;
  for (let i = 0; i < count; i++) {
    const where = rng.pick(['provider', 'provider', 'aws', 'dynamo'] as const);
    if (where === 'provider') {
      const operation = rng.pick(['state', 'reset', 'reset'] as const);
      // A state check comes twice in a rotation (before and after the reset); a reset once, unless
      // an earlier attempt's password is rolled forward first.
      const skip = operation === 'state' ? rng.int(0, 1) : 0;
      const answers = harness.resetAnswers.filter((a) => a.fault.delayMs === undefined);
      const roll = rng.next();
      let fault: Omit<InjectedFault, 'operation'>;
      let name: string;
      if (operation === 'reset' && roll < lateShare) {
        // Applied by the provider after the caller gave up, well within the lease.
        fault = { delayMs: rng.int(300, 650) };
        name = `late apply after ${fault.delayMs} ms`;
        totals.lateApplies++;
      } else if (operation === 'reset' && roll < lateShare + 0.2) {
        fault = { applyThenDrop: true };
        name = 'applied, answer lost';
        totals.lostWrites++;
      } else {
        const answer = rng.pick(answers);
        fault = answer.fault;
        name = answer.name;
      }
      harness.addFault({ operation, clusterId, skip, ...fault });
      injected.push(`provider ${operation} (skip ${skip}): ${name}`);
    } else {
      const operation = where === 'aws' ? rng.pick(AWS_OPERATIONS) : rng.pick(DYNAMO_OPERATIONS);
      const isWrite = where === 'dynamo' ? operation !== 'GetItem' : AWS_WRITES.includes(operation);
      const kind = rng.pick(
        isWrite ? (['error', 'drop', 'applied-lost'] as const) : (['error', 'drop'] as const),
      );
      // One fault is usually absorbed by the SDK's retries; five outlast its three attempts.
      const times = rng.pick([1, 5]);
      const skip = rng.int(0, 3);
      const fault: InjectedFault = {
        operation: where === 'aws' ? `secretsmanager.${operation}` : `DynamoDB_20120810.${operation}`,
        skip,
        times,
        ...(kind === 'error'
          ? { status: 500, body: { __type: 'InternalServiceError', message: 'injected' } }
          : kind === 'drop'
            ? { drop: true }
            : { applyThenDrop: true }),
      };
      if (kind === 'applied-lost') totals.lostWrites++;
      (where === 'aws' ? suite.sandbox.aws.faults : suite.sandbox.dynamoFaults).add(fault);
      injected.push(`${where} ${operation} (skip ${skip}, ×${times}): ${kind}`);
    }
  }
  totals.faults += injected.length;
  return injected;
};

const clearFaults = () => {
  for (const queue of [
    suite.sandbox.ncloud.faults,
    suite.sandbox.otc.faults,
    suite.sandbox.aws.faults,
    suite.sandbox.dynamoFaults,
  ])
    queue.clear();
};

/** Runs the attempt in a child process, holds one of its calls, kills it there, then lets the call apply or drop. */
const killedAttempt = async (
  rng: Random,
  request: Request | NativeStep,
  clusterId: string,
  log: string[],
): Promise<Answer | 'killed'> => {
  const harness = suite.harness(request.providerId);
  const held = deferred<void>();
  const release = deferred<'apply' | 'drop'>();
  // Disarmed once the child has finished without reaching the held call: a later call that meets
  // the fault (the next step of a native rotation) goes through.
  let disarmed = false;
  const hold = () => {
    if (disarmed) return Promise.resolve('apply' as const);
    held.resolve();
    return release.promise;
  };
  const target = rng.pick([
    'provider reset',
    'provider state',
    'PutSecretValue',
    'UpdateSecretVersionStage',
    'PutItem',
  ]);
  if (target.startsWith('provider')) {
    harness.addFault({ operation: target.split(' ')[1] as string, clusterId, hold });
  } else if (target === 'PutItem') {
    suite.sandbox.dynamoFaults.add({ operation: 'DynamoDB_20120810.PutItem', skip: rng.int(0, 3), hold });
  } else {
    suite.sandbox.aws.faults.add({ operation: `secretsmanager.${target}`, hold });
  }
  const child = invokeInChild(suite, request, CHILD_TIMEOUT_MS);
  const outcome = await Promise.race([held.promise.then(() => 'held' as const), child.answer]);
  if (outcome !== 'held') {
    disarmed = true;
    log.push(`  child finished before reaching ${target}: ${JSON.stringify(outcome)}`);
    return outcome;
  }
  child.kill();
  await child.answer;
  totals.kills++;
  const verdict = rng.pick(['apply', 'drop'] as const);
  const after = rng.int(0, 300);
  log.push(
    `  killed while the sandbox held ${target}; the call ${verdict === 'apply' ? 'applies' : 'drops'} ${after} ms later`,
  );
  setTimeout(() => release.resolve(verdict), after);
  return 'killed';
};

const runHistory = async (seed: number, log: string[]): Promise<{ log: string[]; violations: string[] }> => {
  const rng = random(seed);
  const providerId = rng.pick(['ncloud-cdss', 'otc-css']);
  const harness = suite.harness(providerId);
  const { id } = suite.cluster(providerId);
  const monitor = watch(suite, providerId, id);
  // Some histories lean on resets the provider applies late, the way the first release lost passwords.
  const lateShare = rng.pick([0.2, 0.6]);
  log.push(
    `history seed ${seed}: ${providerId} cluster ${id}, late applies ${lateShare * 100}% of reset faults`,
  );
  const base = await invoke(suite, { providerId, clusterId: id, key: `base-${id}`, mode: 'direct' });
  if (!base.ok) return { log: [...log, `baseline failed: ${base.name}`], violations: ['baseline failed'] };

  const count = rng.int(2, 4);
  // In about half the histories Secrets Manager rotates the secret too, in place of one caller.
  const nativeIndex = rng.chance(0.5) ? rng.int(0, count - 1) : -1;
  const callers: Caller[] = Array.from({ length: count }, (_, i): Caller => {
    if (i === nativeIndex) {
      const common = { name: `caller ${i}`, key: '', mode: 'direct' as const, storePassword: true };
      const rotationsLeft = rng.int(1, 2);
      return { ...common, native: true, rotationsLeft, newKeyEachAttempt: false, done: false, attempt: 0 };
    }
    const unstored = rng.chance(0.2);
    const mode: Mode = unstored ? 'http' : rng.pick(['http', 'eventbridge', 'direct'] as const);
    const supplied = unstored || (mode === 'http' && rng.chance(0.3));
    const password = supplied ? `${harness.validPassword.slice(0, 8)}${i}${seed % 1000}x!` : undefined;
    if (password) suite.secretsUsed.add(password);
    if (password && unstored) monitor.unstored.add(password);
    return {
      name: `caller ${i}`,
      key: `h${seed}-c${i}`,
      mode,
      native: false,
      ...(password === undefined ? {} : { password }),
      storePassword: !unstored,
      newKeyEachAttempt: !supplied && rng.chance(0.25),
      done: false,
      attempt: 0,
    };
  });
  for (const caller of callers) {
    if (caller.native) {
      log.push(`${caller.name}: Secrets Manager's own rotation, ${caller.rotationsLeft} of them`);
      continue;
    }
    log.push(
      `${caller.name}: ${caller.mode}, ${caller.storePassword ? 'stored' : 'unstored'}, ${
        caller.password ? 'supplied' : 'generated'
      }, ${caller.newKeyEachAttempt ? 'new key per attempt' : 'same key'}`,
    );
  }
  const requestOf = (caller: Caller): Request => ({
    providerId,
    clusterId: id,
    key: caller.newKeyEachAttempt ? `${caller.key}-a${caller.attempt}` : caller.key,
    mode: caller.mode,
    ...(caller.password === undefined ? {} : { password: caller.password }),
    ...(caller.storePassword ? {} : { storePassword: false }),
  });
  // Secrets Manager's rotation: every step's answer is checked and logged as it comes.
  const secretName = suite.secretName(providerId, id);
  const fn = rotationFunctions.get(providerId) as RotationFunction;
  fn.onAnswer = (step, answer) => {
    totals.nativeSteps++;
    const label = `${step.step} of ${step.token.slice(0, 8)}`;
    monitor.answeredStep(label, step, answer);
    monitor.check(label);
    log.push(`    ${label} → ${answer === 'killed' ? 'killed' : answer.ok ? 'ok' : answer.name}`);
  };
  /**
   * One rotation by Secrets Manager: RotateSecret (a new token, or a re-attempt of whichever
   * version is pending), or its retry of the caller's last token from a step; `killStep` runs in a
   * child process that is killed while the sandbox holds one of its calls.
   */
  const rotateNatively = async (
    caller: Caller,
    how: { retryFrom?: RotationStep; killStep?: RotationStep },
  ): Promise<Answer | 'killed'> => {
    const { retryFrom, killStep } = how;
    log.push(
      retryFrom && caller.token
        ? `  Secrets Manager retries ${caller.token.slice(0, 8)} from ${retryFrom}`
        : '  RotateSecret',
    );
    fn.runner = (step) =>
      step.step === killStep ? killedAttempt(rng, step, id, log) : invokeStep(suite, step);
    let run: NativeRun;
    try {
      run =
        retryFrom && caller.token
          ? await retryRotation(suite, fn, secretName, caller.token, retryFrom)
          : await rotateSecret(suite, fn, secretName);
    } finally {
      fn.runner = (step) => invokeStep(suite, step);
    }
    totals.nativeRotations++;
    if (run.reattempted && !retryFrom) totals.nativeReattempts++;
    if (!retryFrom) log.push(`  ${run.reattempted ? 're-attempted' : 'new'} token ${run.token.slice(0, 8)}`);
    caller.token = run.token;
    caller.failedStep = run.steps.find((s) => !s.ok)?.step;
    if (run.failed === 'Killed') return 'killed';
    if (!run.finished) return { ok: false, name: run.failed as string };
    caller.rotationsLeft = (caller.rotationsLeft ?? 1) - 1;
    return { ok: true };
  };
  const nativeChoice = (caller: Caller, kill: boolean) => {
    const retry = caller.token !== undefined && rng.chance(0.3);
    const retryFrom =
      retry && caller.failedStep !== undefined && rng.chance(0.5) ? caller.failedStep : 'createSecret';
    const killStep = kill
      ? rng.pick(['createSecret', 'setSecret', 'setSecret', 'testSecret', 'finishSecret'] as const)
      : undefined;
    return {
      ...(retry ? { retryFrom } : {}),
      ...(killStep === undefined ? {} : { killStep }),
    };
  };
  const record = (caller: Caller, answer: Answer | 'killed', label: string) => {
    totals.attempts++;
    caller.attempt++;
    monitor.answered(label, answer);
    monitor.check(label);
    if (answer !== 'killed' && (answer.ok || !RETRYABLE.has(answer.name ?? ''))) caller.done = true;
    // Secrets Manager's schedule may rotate once more.
    if (caller.native && answer !== 'killed' && answer.ok && (caller.rotationsLeft ?? 0) > 0) {
      caller.done = false;
    }
    log.push(`  → ${answer === 'killed' ? 'killed' : answer.ok ? 'ok' : answer.name}`);
  };

  let killed = false;
  let previous: Caller | undefined;
  let previousAmbiguous = false;
  const steps = rng.int(4, 8);
  for (let step = 0; step < steps; step++) {
    const waiting = callers.filter((c) => !c.done);
    if (waiting.length === 0) break;
    totals.steps++;
    // After an ambiguous step, another caller usually comes next: that is where passwords got lost.
    const others = waiting.filter((c) => c !== previous);
    const caller: Caller =
      previousAmbiguous && others.length > 0 && rng.chance(0.7) ? rng.pick(others) : rng.pick(waiting);
    const faults = injectFaults(rng, providerId, id, lateShare);
    const kill = !killed && rng.chance(0.2);
    log.push(
      `step ${step}: ${caller.name} (${caller.attempt === 0 ? 'first' : 'retry'})${kill ? ', in a child process' : ''}`,
    );
    for (const fault of faults) log.push(`  fault: ${fault}`);
    const answer: Answer | 'killed' = caller.native
      ? await rotateNatively(caller, nativeChoice(caller, kill))
      : kill
        ? await killedAttempt(rng, requestOf(caller), id, log)
        : await invoke(suite, requestOf(caller));
    if (kill) {
      killed = true;
      // The held call must not hold a later caller.
      clearFaults();
    }
    record(caller, answer, `step ${step}`);
    previous = caller;
    previousAmbiguous = answer === 'killed' || (!answer.ok && RETRYABLE.has(answer.name ?? ''));
    // Callers back off after a refusal for a lease, as Step Functions' retry policy does.
    if (answer !== 'killed' && answer.name === 'RotationInProgress') await sleep(rng.int(200, 1_100));
    else if (rng.chance(0.3)) await sleep(rng.int(50, 400));
  }

  // Secrets Manager re-attempts an unfinished rotation (RotateSecret) until one finishes.
  const settleNatively = async (caller: Caller): Promise<Answer | 'killed'> => {
    const deadline = Date.now() + 6_000;
    for (;;) {
      const answer = await rotateNatively(caller, {});
      if (answer !== 'killed' && (answer.ok || !RETRYABLE.has(answer.name ?? ''))) return answer;
      if (Date.now() > deadline) return answer;
      await sleep(100);
    }
  };
  // Every caller retries until it is done, as Step Functions would; no more faults. (Until here a
  // fault stays injected until a call meets it.)
  clearFaults();
  for (const caller of callers.filter((c) => !c.done)) {
    log.push(`settling ${caller.name}`);
    const answer = caller.native
      ? await settleNatively(caller)
      : await untilSettled(() => {
          const request = requestOf(caller);
          caller.attempt += caller.newKeyEachAttempt ? 1 : 0;
          return invoke(suite, request);
        }, 6_000);
    record(caller, answer, `settling ${caller.name}`);
  }
  await sleep(LEASE_MS + 100);
  monitor.check('quiet');
  const final = await untilSettled(
    () => invoke(suite, { providerId, clusterId: id, key: `final-${id}`, mode: 'direct' }),
    6_000,
  );
  monitor.answered('final', final);
  const current = suite.sandbox.aws.secretValue(suite.secretName(providerId, id))?.password as string;
  suite.secretsUsed.add(current);
  if (!final.ok) monitor.violations.push(`the final rotation did not converge: ${final.name}`);
  else if (harness.clusterPassword(id) !== current) monitor.violations.push('final: provider ≠ AWSCURRENT');
  // Not even the empty version of an unfinished Secrets Manager rotation.
  if (versionOf(suite, secretName, 'AWSPENDING') !== undefined) {
    monitor.violations.push('final: an AWSPENDING version is left');
  }
  monitor.stop();
  fn.reset();
  totals.histories++;
  return { log, violations: monitor.violations };
};

const started = Date.now();

it(
  `explores ${RUNS} histories from seed ${SEED} and loses no password`,
  async () => {
    const failures: string[] = [];
    for (let run = 0; run < RUNS; run++) {
      const log: string[] = [];
      let violations: string[];
      try {
        ({ violations } = await runHistory(SEED + run, log));
      } catch (error) {
        // A history that throws is reported with its steps too; the next one starts clean.
        violations = [`the history threw ${(error as Error).name}: ${(error as Error).message}`];
        clearFaults();
        for (const fn of rotationFunctions.values()) fn.reset();
      }
      if (violations.length > 0)
        failures.push([...log, ...violations.map((v) => `VIOLATION ${v}`)].join('\n'));
      else if (process.env.HISTORY_VERBOSE) report(log.join('\n'));
    }
    if (failures.length > 0) report(failures.join('\n\n'));
    expect(failures).toEqual([]);
  },
  RUNS * 20_000 + 60_000,
);

afterAll(() => {
  report(
    `histories: ${totals.histories} histories (seed ${SEED}), ${totals.steps} steps, ${totals.attempts} attempts ` +
      `(${totals.nativeRotations} rotations by Secrets Manager, ${totals.nativeReattempts} of them re-attempts, ` +
      `${totals.nativeSteps} steps), ` +
      `${totals.faults} faults (${totals.lateApplies} late applies, ${totals.lostWrites} applied writes with lost answers), ` +
      `${totals.kills} kills, ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});
