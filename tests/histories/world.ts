import { spawn } from 'node:child_process';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  InvalidRequestException,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { ERROR_CODES, type ErrorCode } from '../../lib/errors.ts';
import { PROVIDERS } from '../../lib/providers/registry.ts';
import {
  lambdaFunctionArn,
  ROTATION_STEPS,
  type RotationRecord,
  type RotationStep,
} from '../../sandbox/aws.ts';
import type { Suite } from '../integration/suite.ts';
import { eventBridgeEvent, lambdaContext } from '../support/events.ts';
import { recordText } from '../support/leak-scan.ts';

// What a history needs around the sandbox: callers in every mode (in this process, or in a child
// process that can be killed mid-await), and a monitor that checks the invariant of the rotation
// protocol at every reset the provider receives and at every checkpoint:
//   - the provider's password is the secret's AWSCURRENT or AWSPENDING (or a password a caller
//     supplied with storePassword: false, which by design lives outside the secret);
//   - a stored password is sent only while its version is AWSPENDING (nothing stale is re-sent);
//   - `ok` for a stored rotation means its version became AWSCURRENT (for Secrets Manager's own
//     rotation: finishSecret's `ok`; its earlier steps answer ok before anything is current).

/** The names of the errors a caller may retry, from the product's error table. */
export const RETRYABLE: ReadonlySet<string> = new Set(
  Object.values(ERROR_CODES)
    .filter((spec) => spec.retryable)
    .map((spec) => spec.name),
);

export type Mode = 'http' | 'eventbridge' | 'direct';

export interface Request {
  providerId: string;
  clusterId: string;
  key: string;
  mode: Mode;
  /** A supplied password (HTTP only); with storePassword false it is not stored. */
  password?: string;
  storePassword?: boolean;
  secretId?: string;
  dryRun?: boolean;
}

/** A caller's view of one invocation: ok with the result, or the error's name (and message). */
export interface Answer {
  ok: boolean;
  name?: string;
  message?: string;
  result?: { password?: { stored?: boolean; versionId?: string }; [key: string]: unknown };
}

// A provider's handler is functions/{id}-{operation}.ts (deploy/functions.cjs names it the same way).
const FUNCTION_FILES: Record<string, string> = Object.fromEntries(
  PROVIDERS.map(({ id, operation }) => [id, `${id}-${operation}`]),
);

/** The event a caller in `mode` sends for the request. */
export const eventFor = (suite: Suite, request: Request): unknown => {
  const harness = suite.harness(request.providerId);
  const fields = {
    ...(request.password === undefined ? {} : { password: request.password }),
    ...(request.storePassword === undefined ? {} : { storePassword: request.storePassword }),
    ...(request.secretId === undefined ? {} : { secretId: request.secretId }),
    ...(request.dryRun === undefined ? {} : { dryRun: request.dryRun }),
  };
  if (request.mode === 'http') {
    return harness.httpEvent(request.clusterId, fields, { 'Idempotency-Key': request.key });
  }
  const envelope = {
    provider: request.providerId,
    region: harness.region,
    clusterId: request.clusterId,
    idempotencyKey: request.key,
    ...fields,
  };
  return request.mode === 'eventbridge' ? eventBridgeEvent(envelope) : envelope;
};

const fromHttp = (answer: unknown): Answer => {
  const body = JSON.parse((answer as { body: string }).body);
  return body.ok
    ? { ok: true, result: body }
    : { ok: false, name: errorName(body.error.code), message: body.error.message };
};

/**
 * What an EventBridge or direct invocation returned: a success, or a failure answered instead of
 * thrown (an EventBridge request's validation failure, a direct payload carrying a password).
 */
const fromPayload = (answer: unknown): Answer => {
  const result = answer as { ok?: boolean; error?: { code: string; message: string } } | undefined;
  return result?.ok === false && result.error
    ? { ok: false, name: errorName(result.error.code), message: result.error.message }
    : { ok: true, result: answer as Answer['result'] };
};

/** The error's name (what Lambda reports as errorType) for an HTTP answer's code. */
const errorName = (code: string): string => ERROR_CODES[code as ErrorCode]?.name ?? code;

/** Invokes the suite's handler in this process. */
export const invoke = async (suite: Suite, request: Request, timeoutMs = 29_000): Promise<Answer> => {
  const event = eventFor(suite, request);
  try {
    const answer = await suite.handler(request.providerId)(event, lambdaContext(timeoutMs));
    return request.mode === 'http' ? fromHttp(answer) : fromPayload(answer);
  } catch (error) {
    return { ok: false, name: (error as Error).name, message: (error as Error).message };
  }
};

/** An invocation in a child process, which the history may kill. */
export interface ChildInvocation {
  answer: Promise<Answer | 'killed'>;
  kill(): void;
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

export const invokeInChild = (
  suite: Suite,
  request: Request | NativeStep,
  timeoutMs: number,
): ChildInvocation => {
  const native = 'step' in request;
  const http = !native && request.mode === 'http';
  const child = spawn(process.execPath, [CHILD], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stdin.end(
    JSON.stringify({
      functionFile: FUNCTION_FILES[request.providerId],
      event: native ? stepEvent(request) : eventFor(suite, request),
      timeoutMs,
    }),
  );
  const answer = new Promise<Answer | 'killed'>((resolve) => {
    child.on('exit', (_, signal) => {
      // Whatever the handler logged goes to the run's leak scan.
      recordText(output);
      if (signal === 'SIGKILL') return resolve('killed');
      const line = output.split('\n').find((l) => l.startsWith('CHILD-ANSWER '));
      if (!line) return resolve({ ok: false, name: 'ChildFailed', message: output.slice(-500) });
      const parsed = JSON.parse(line.slice('CHILD-ANSWER '.length)) as Answer;
      if (!parsed.ok || native) return resolve(parsed);
      resolve(http ? fromHttp(parsed.result) : fromPayload(parsed.result));
    });
  });
  return { answer, kill: () => child.kill('SIGKILL') };
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise with its resolver outside, for holding a sandbox call until the history says so. */
export const deferred = <T>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

export interface Monitor {
  violations: string[];
  /** Passwords sent with storePassword: false: the provider may hold them, the secret never does. */
  unstored: Set<string>;
  /** Checks the invariant now; `label` says where in the history. */
  check(label: string): void;
  /**
   * An answer a caller received: ok for a stored rotation must mean its version became AWSCURRENT;
   * a final failure for a supplied password must not come while the provider holds that password.
   */
  answered(label: string, answer: Answer | 'killed', request?: Request): void;
  /** A native step's answer: finishSecret's ok must mean the token's version became AWSCURRENT. */
  answeredStep(label: string, step: NativeStep, answer: Answer | 'killed'): void;
  stop(): void;
}

export const watch = (suite: Suite, providerId: string, clusterId: string, secretName?: string): Monitor => {
  const harness = suite.harness(providerId);
  const name = secretName ?? suite.secretName(providerId, clusterId);
  const aws = suite.sandbox.aws;
  const violations: string[] = [];
  const unstored = new Set<string>();
  const stagePassword = (stage: string) => aws.secretValue(name, stage)?.password as string | undefined;
  const simulator = providerId === 'ncloud-cdss' ? suite.sandbox.ncloud : suite.sandbox.otc;
  const onReset = (reset: { clusterId: string; password: string }) => {
    if (reset.clusterId !== clusterId) return;
    suite.secretsUsed.add(reset.password);
    if (unstored.has(reset.password) || reset.password === stagePassword('AWSPENDING')) return;
    violations.push('a password was sent that is not the AWSPENDING version (stale re-send)');
  };
  const check = (label: string) => {
    const held = harness.clusterPassword(clusterId) as string;
    suite.secretsUsed.add(held);
    if (unstored.has(held)) return;
    if (held !== stagePassword('AWSCURRENT') && held !== stagePassword('AWSPENDING')) {
      violations.push(
        `${label}: the provider holds a password that is neither AWSCURRENT nor AWSPENDING (lost)`,
      );
    }
  };
  // Checked at the moment the provider takes a password too, not only between steps: a late apply
  // can lose a password and be overwritten again before the next checkpoint.
  const onApply = (applied: { clusterId: string }) => {
    if (applied.clusterId === clusterId) check('when the provider applied a reset');
  };
  // And whenever Secrets Manager's labels change: a version discarded while the provider holds its
  // password is lost at that moment, even if a later reset covers it up.
  // Until its first rotation ends, a secret holds only a placeholder: the cluster's initial password
  // is nobody's version yet.
  const onLabels = (secret: string) => {
    if (secret === name && stagePassword('AWSCURRENT') !== undefined)
      check("when the secret's labels changed");
  };
  simulator.resetListeners.push(onReset);
  simulator.applyListeners.push(onApply);
  aws.labelListeners.push(onLabels);
  return {
    violations,
    unstored,
    check,
    answered(label, answer, request) {
      if (answer === 'killed') return;
      const final = !answer.ok && !RETRYABLE.has(answer.name ?? '') && answer.name !== 'ValidationFailed';
      if (
        final &&
        request?.password !== undefined &&
        harness.clusterPassword(clusterId) === request.password
      ) {
        violations.push(`${label}: a final ${answer.name} answered while the provider holds its password`);
      }
      if (!answer.ok || !answer.result?.password?.stored) return;
      const versionId = answer.result.password.versionId as string;
      const secret = aws.secrets.get(name);
      if (!secret?.everCurrent.has(versionId)) {
        violations.push(`${label}: ok answered for a version that never became AWSCURRENT`);
      }
    },
    answeredStep(label, step, answer) {
      if (answer === 'killed' || !answer.ok || step.step !== 'finishSecret') return;
      if (!aws.secrets.get(name)?.everCurrent.has(step.token)) {
        violations.push(`${label}: finishSecret answered ok for a version that never became AWSCURRENT`);
      }
    },
    stop() {
      simulator.resetListeners.splice(simulator.resetListeners.indexOf(onReset), 1);
      simulator.applyListeners.splice(simulator.applyListeners.indexOf(onApply), 1);
      aws.labelListeners.splice(aws.labelListeners.indexOf(onLabels), 1);
    },
  };
};

/** Retries like Step Functions would: retryable errors again, a little later, within a time budget. */
export const untilSettled = async (
  attempt: () => Promise<Answer>,
  budgetMs: number,
  pauseMs = 100,
): Promise<Answer> => {
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const answer = await attempt();
    if (answer.ok || !RETRYABLE.has(answer.name ?? '') || Date.now() > deadline) return answer;
    await sleep(pauseMs);
  }
};

// Secrets Manager's own rotation. The sandbox plays Secrets Manager (RotateSecret labels an empty
// version AWSPENDING, or re-attempts the unfinished rotation of the version that is AWSPENDING, and
// invokes the rotation function with each step in turn); the rotation function registered here is
// the provider's unchanged handler, run the way the history says (in this process, or in a child
// process it kills), and every step's answer goes to the history's monitor.

/** One step of a Secrets Manager rotation, as Secrets Manager invokes the rotation function. */
export interface NativeStep {
  providerId: string;
  step: RotationStep;
  /** The secret's ARN, as Secrets Manager names it. */
  secretId: string;
  /** The ClientRequestToken: the version the rotation fills, sets and promotes. */
  token: string;
  rotationToken?: string;
}

export const stepEvent = (step: NativeStep) => ({
  Step: step.step,
  SecretId: step.secretId,
  ClientRequestToken: step.token,
  ...(step.rotationToken === undefined ? {} : { RotationToken: step.rotationToken }),
});

/** Invokes one rotation step in this process; answers ok with the result, or the thrown error's name. */
export const invokeStep = async (suite: Suite, step: NativeStep, timeoutMs = 29_000): Promise<Answer> => {
  try {
    const result = await suite.handler(step.providerId)(stepEvent(step), lambdaContext(timeoutMs));
    return { ok: true, result: result as Answer['result'] };
  } catch (error) {
    return { ok: false, name: (error as Error).name, message: (error as Error).message };
  }
};

export type StepRunner = (step: NativeStep) => Promise<Answer | 'killed'>;

/** The rotation function Secrets Manager invokes for one provider's secrets. */
export interface RotationFunction {
  arn: string;
  providerId: string;
  /** How each invocation runs: in this process unless the history swaps it (to hold, kill, race). */
  runner: StepRunner;
  /** Hears every step's answer, whoever invoked it (a history's monitor checks there). */
  onAnswer: (step: NativeStep, answer: Answer | 'killed') => void;
  /** One invocation, as Secrets Manager makes it: the result, or the function's error thrown. */
  invoke(step: NativeStep): Promise<unknown>;
  /** Back to running in this process, heard by nobody. */
  reset(): void;
}

const functionError = (name: string, message: string): Error => Object.assign(new Error(message), { name });

/** Registers the provider's handler as a rotation function Secrets Manager may invoke. */
export const registerRotationFunction = (suite: Suite, providerId: string): RotationFunction => {
  const fn: RotationFunction = {
    arn: lambdaFunctionArn(`histories-${providerId}`),
    providerId,
    runner: (step) => invokeStep(suite, step),
    onAnswer: () => undefined,
    async invoke(step) {
      const answer = await fn.runner(step);
      fn.onAnswer(step, answer);
      if (answer === 'killed') throw functionError('Killed', 'the invocation was killed');
      if (!answer.ok) throw functionError(answer.name ?? 'Error', answer.message ?? '');
      return answer.result;
    },
    reset() {
      fn.runner = (step) => invokeStep(suite, step);
      fn.onAnswer = () => undefined;
    },
  };
  suite.sandbox.aws.rotationFunctions.set(fn.arn, (event) => {
    const { Step, SecretId, ClientRequestToken, RotationToken } = event as Record<string, string>;
    return fn.invoke({
      providerId,
      step: Step as RotationStep,
      secretId: SecretId as string,
      token: ClientRequestToken as string,
      ...(RotationToken === undefined ? {} : { rotationToken: RotationToken }),
    });
  });
  return fn;
};

/** What one rotation of Secrets Manager did: its token, and its steps as far as it got. */
export interface NativeRun {
  /** RotateSecret re-attempted the unfinished rotation of the version that was AWSPENDING. */
  reattempted: boolean;
  token: string;
  steps: RotationRecord['steps'];
  finished: boolean;
  /** The error name of the step that failed, if one did. */
  failed?: string;
}

let secretsManager: SecretsManagerClient | undefined;

/**
 * RotateSecret as a client (or the rotation schedule) calls it: a new rotation, or, while a version
 * other than AWSCURRENT is AWSPENDING, a re-attempt of that version's rotation.
 */
export const rotateSecret = async (
  suite: Suite,
  fn: RotationFunction,
  secretName: string,
): Promise<NativeRun> => {
  // Created once the suite has pointed the SDK at the sandbox. One attempt (a retry would rotate
  // again), each on a new connection: a kept-alive one the sandbox has closed meanwhile would fail.
  secretsManager ??= new SecretsManagerClient({
    maxAttempts: 1,
    requestHandler: { httpAgent: new Agent({ keepAlive: false }) },
  });
  const before = suite.sandbox.aws.rotations.length;
  let reattempted = false;
  try {
    await secretsManager.send(
      new RotateSecretCommand({
        SecretId: secretName,
        RotationLambdaARN: fn.arn,
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      }),
    );
  } catch (error) {
    if (!(error instanceof InvalidRequestException)) throw error;
    reattempted = true;
  }
  const record = suite.sandbox.aws.rotations.slice(before).find((r) => r.secretName === secretName);
  if (!record) throw new Error(`RotateSecret ran no rotation of ${secretName}`);
  return runOf(record.token, record.steps, reattempted);
};

const runOf = (token: string, steps: RotationRecord['steps'], reattempted: boolean): NativeRun => {
  const failed = steps.find((s) => !s.ok)?.errorType;
  return {
    reattempted,
    token,
    steps,
    finished: steps.length === ROTATION_STEPS.length && failed === undefined,
    ...(failed === undefined ? {} : { failed }),
  };
};

/**
 * Secrets Manager's retry of one rotation (the Lambda service's retry of a failed invocation, or a
 * rotation re-attempted): its steps again, with the same token, until one fails.
 */
export const retryRotation = async (
  suite: Suite,
  fn: RotationFunction,
  secretName: string,
  token: string,
  from: RotationStep = 'createSecret',
): Promise<NativeRun> => {
  const secretId = suite.sandbox.aws.secrets.get(secretName)?.arn as string;
  const steps: RotationRecord['steps'] = [];
  for (const step of ROTATION_STEPS.slice(ROTATION_STEPS.indexOf(from))) {
    try {
      await fn.invoke({ providerId: fn.providerId, step, secretId, token });
      steps.push({ step, ok: true });
    } catch (error) {
      steps.push({ step, ok: false, errorType: (error as Error).name });
      break;
    }
  }
  return runOf(token, steps, true);
};

/** The version a stage sits on (an empty AWSPENDING version too). */
export const versionOf = (suite: Suite, secretName: string, stage: string): string | undefined =>
  [...(suite.sandbox.aws.secrets.get(secretName)?.versions.values() ?? [])].find((v) => v.stages.has(stage))
    ?.id;
