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

const main = async () => {
  const inputFile = process.argv[2];
  if (!inputFile) throw new Error('usage: node sandbox/run-fleet.ts <input.json>');
  const input = JSON.parse(await readFile(inputFile, 'utf8'));
  const lambdaEndpoint = `http://127.0.0.1:${process.env.OFFLINE_LAMBDA_PORT ?? 3002}`;
  const handlers = Object.fromEntries(
    Object.entries(TASK_FUNCTIONS).map(([state, fn]) => [
      state,
      lambdaInvokeTask(offlineLambdaInvoke(lambdaEndpoint, `cluster-password-reset-local-${fn}`)),
    ]),
  );
  const result = await runLocally(await fleetDefinition(), input, handlers);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
};

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  });
}
