import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StateMachine } from 'aws-local-stepfunctions';
import { lambdaInvokeTask, offlineLambdaInvoke } from './lambda-invoke.ts';

// Runs the fleet-rotation state machine, exactly as serverless.yml defines it for the local
// stage, on this machine: aws-local-stepfunctions executes the definition, and each Task invokes
// the function through serverless-offline's Lambda API (start `npm start` first).
//   node sandbox/run-fleet.ts examples/fleet-rotation.json
// It prints the summary and exits 0, whatever the targets' outcomes; it exits 1 without running
// when nothing answers on OFFLINE_LAMBDA_PORT (default 3002), and after the summary when any
// invocation did not reach the Lambda API.

export const TASK_FUNCTIONS: Record<string, string> = {
  RotateNcloudCdss: 'ncloudCdssResetCmakPassword',
  RotateOtcCss: 'otcCssResetAdminPassword',
  RotateHuaweicloudCss: 'huaweicloudCssResetAdminPassword',
};

/** The state machine definition as `serverless print` resolves it for a stage. */
export const fleetDefinition = async (stage = 'local'): Promise<Record<string, unknown>> => {
  const { stdout } = await promisify(execFile)(
    'serverless',
    ['print', '--format', 'json', '--stage', stage],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  return JSON.parse(stdout).stepFunctions.stateMachines.fleetRotation.definition;
};

type TaskHandler = (input: unknown) => Promise<unknown>;

/**
 * Runs the definition locally with a Task handler per Task state and the context object a real
 * execution has (its name keys the idempotency of each item). `retryIntervalMs` shortens the
 * retry waits, for tests.
 */
export const runLocally = (
  definition: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  options: { retryIntervalMs?: number } = {},
) => {
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const name = randomUUID();
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined
      ? undefined
      : Object.fromEntries(
          Object.keys(TASK_FUNCTIONS).map((state) => [state, options.retryIntervalMs as number]),
        );
  return machine.run(input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:eu-central-1:000000000000:execution:fleet-rotation:${name}`,
        Name: name,
        Input: input as never,
        StartTime: new Date().toISOString(),
        RoleArn: 'arn:aws:iam::000000000000:role/local',
      },
    },
  }).result;
};

/**
 * Whether anything answers HTTP at serverless offline's Lambda endpoint: any answer will do (its
 * Lambda API answers 404 to a bare GET), a refused or timed-out connection will not.
 */
export const lambdaEndpointReachable = async (lambdaEndpoint: string, timeoutMs = 3000): Promise<boolean> => {
  try {
    const response = await fetch(`${lambdaEndpoint}/`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
};

/**
 * A failure to reach the function rather than the function's own error: fetch rejects with a
 * TypeError ("fetch failed"), an answer that is not the Lambda API's JSON is a SyntaxError. A
 * function error is a plain Error named after its errorType (lambda-invoke.ts).
 */
export const isTransportFailure = (error: unknown): boolean =>
  error instanceof TypeError || error instanceof SyntaxError;

const NOT_RUNNING_HINT = 'is `npm start` running? start it in another terminal';

const main = async () => {
  const inputFile = process.argv[2];
  if (!inputFile) throw new Error('usage: node sandbox/run-fleet.ts <input.json>');
  const input = JSON.parse(await readFile(inputFile, 'utf8'));
  const lambdaEndpoint = `http://127.0.0.1:${process.env.OFFLINE_LAMBDA_PORT ?? 3002}`;
  if (!(await lambdaEndpointReachable(lambdaEndpoint))) {
    process.stderr.write(
      `run-fleet: serverless offline's Lambda API does not answer at ${lambdaEndpoint} (${NOT_RUNNING_HINT}; OFFLINE_LAMBDA_PORT moves it)\n`,
    );
    process.exit(1);
  }
  let transportFailures = 0;
  const handlers = Object.fromEntries(
    Object.entries(TASK_FUNCTIONS).map(([state, fn]) => {
      const invoke = offlineLambdaInvoke(lambdaEndpoint, `cluster-password-reset-local-${fn}`);
      return [
        state,
        lambdaInvokeTask(async (payload) => {
          try {
            return await invoke(payload);
          } catch (error) {
            if (isTransportFailure(error)) transportFailures++;
            throw error;
          }
        }),
      ];
    }),
  );
  const result = await runLocally(await fleetDefinition(), input, handlers);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (transportFailures > 0) {
    process.stderr.write(
      `run-fleet: ${transportFailures} invocation(s) did not reach serverless offline's Lambda API at ${lambdaEndpoint} (${NOT_RUNNING_HINT})\n`,
    );
    process.exit(1);
  }
};

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
