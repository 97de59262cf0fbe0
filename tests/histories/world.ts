import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Suite } from '../integration/suite.ts';
import { eventBridgeEvent, lambdaContext } from '../support/events.ts';
import { recordText } from '../support/leak-scan.ts';

// What a history needs around the sandbox: callers in every mode (in this process, or in a child
// process that can be killed mid-await), and a monitor that checks the invariant of the rotation
// protocol at every reset the provider receives and at every checkpoint:
//   - the provider's password is the secret's AWSCURRENT or AWSPENDING (or a password a caller
//     supplied with storePassword: false, which by design lives outside the secret);
//   - a stored password is sent only while its version is AWSPENDING (nothing stale is re-sent);
//   - `ok` for a stored rotation means its version became AWSCURRENT.

export const RETRYABLE = new Set([
  'ClusterStateConflict',
  'ProviderThrottled',
  'ProviderUnavailable',
  'RotationInProgress',
  'SecretStoreFailed',
]);

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
}

/** A caller's view of one invocation: ok with the result, or the error's name (and message). */
export interface Answer {
  ok: boolean;
  name?: string;
  message?: string;
  result?: { password?: { stored?: boolean; versionId?: string }; [key: string]: unknown };
}

const FUNCTION_FILES: Record<string, string> = {
  'ncloud-cdss': 'ncloud-cdss-reset-cmak-password',
  'otc-css': 'otc-css-reset-admin-password',
};

/** The event a caller in `mode` sends for the request. */
export const eventFor = (suite: Suite, request: Request): unknown => {
  const harness = suite.harness(request.providerId);
  const fields = {
    ...(request.password === undefined ? {} : { password: request.password }),
    ...(request.storePassword === undefined ? {} : { storePassword: request.storePassword }),
    ...(request.secretId === undefined ? {} : { secretId: request.secretId }),
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

const errorName = (code: string): string =>
  code === 'INTERNAL'
    ? 'InternalError'
    : code
        .toLowerCase()
        .split('_')
        .map((word) => word[0]?.toUpperCase() + word.slice(1))
        .join('');

/** Invokes the suite's handler in this process. */
export const invoke = async (suite: Suite, request: Request, timeoutMs = 29_000): Promise<Answer> => {
  const event = eventFor(suite, request);
  try {
    const answer = await suite.handler(request.providerId)(event, lambdaContext(timeoutMs));
    return request.mode === 'http' ? fromHttp(answer) : { ok: true, result: answer as Answer['result'] };
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

export const invokeInChild = (suite: Suite, request: Request, timeoutMs: number): ChildInvocation => {
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
      event: eventFor(suite, request),
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
      resolve(request.mode === 'http' && parsed.ok ? fromHttp(parsed.result) : parsed);
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
  /** An answer a caller received: ok for a stored rotation must mean its version became AWSCURRENT. */
  answered(label: string, answer: Answer | 'killed'): void;
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
  simulator.resetListeners.push(onReset);
  simulator.applyListeners.push(onApply);
  return {
    violations,
    unstored,
    check,
    answered(label, answer) {
      if (answer === 'killed' || !answer.ok || !answer.result?.password?.stored) return;
      const versionId = answer.result.password.versionId as string;
      const secret = aws.secrets.get(name);
      if (!secret?.everCurrent.has(versionId)) {
        violations.push(`${label}: ok answered for a version that never became AWSCURRENT`);
      }
    },
    stop() {
      simulator.resetListeners.splice(simulator.resetListeners.indexOf(onReset), 1);
      simulator.applyListeners.splice(simulator.applyListeners.indexOf(onApply), 1);
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
