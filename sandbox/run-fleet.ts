import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  type ChildRecord,
  distributedParent,
  type ExecutionContext,
  type MapRun,
  machineOf,
  type Progress,
  runExecution,
  validateDefinition,
} from './distributed-map.ts';
import { type FleetInput, formatOf, parseFleetInput, parseJson, readInventory } from './fleet-input.ts';
import { lambdaInvokeTask, offlineLambdaInvoke } from './lambda-invoke.ts';

// Runs the fleet-rotation state machine, exactly as serverless.yml defines it for the local
// stage, on this machine: aws-local-stepfunctions executes the parent and, for each cluster, the
// Distributed Map's child definition (sandbox/distributed-map.ts reads the inventory and runs the
// children, which aws-local-stepfunctions does not); each Task invokes the function through
// serverless-offline's Lambda API (start `npm start` first).
//   npm run --silent fleet -- examples/fleet-rotation.json [--dry-run] [--account NAME]
//   npm run --silent fleet -- --inventory fleet.jsonl|fleet.csv [--dry-run] [--account NAME]
//   npm run --silent fleet -- --check examples/fleet-rotation.json   (validate, print the input)
// stdout: the JSON result alone; stderr: progress and errors. It exits 0 whatever the clusters'
// outcomes; 1 when the input is refused (nothing runs), when nothing answers on
// OFFLINE_LAMBDA_PORT (default 3002), or after the result when an invocation did not reach the
// Lambda API.

const { FUNCTIONS_BY_PROVIDER } = createRequire(import.meta.url)('../deploy/functions.cjs') as {
  FUNCTIONS_BY_PROVIDER: Record<string, { function: string; name: string }>;
};

/** serverless.yml's function of each handler's logical id, as the Task states name it (Fn::GetAtt). */
export const TASK_FUNCTIONS: Record<string, string> = Object.fromEntries(
  Object.values(FUNCTIONS_BY_PROVIDER).map((fn) => [fn.function, fn.name]),
);

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

export interface FleetFailure {
  target: unknown;
  code: string;
  message: string;
}

export interface FleetRun {
  /** The execution's output, as on AWS. */
  output: Record<string, any>;
  /** Read from the results the Rotate map wrote: each cluster's result, or its failure. */
  succeeded: Array<Record<string, any>>;
  failed: FleetFailure[];
  /** History events (as Step Functions would record them) of the parent and of each child. */
  history: { parent: number; children: Array<{ map: string; index: number; events: number }> };
  mapRuns: MapRun[];
}

/** A child's failure as the operator reads it: the Lambda error JSON's message, else the cause. */
const failureOf = (record: ChildRecord): FleetFailure => {
  let message = record.cause ?? '';
  try {
    const parsed = JSON.parse(message);
    if (typeof parsed?.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // A Fail state's Cause is plain text.
  }
  return { target: (record.input as { target?: unknown })?.target, code: record.error ?? 'Error', message };
};

export interface RunOptions {
  /** Shortens the children's retry waits, for tests. */
  retryIntervalMs?: number;
  /** Where the ResultWriter's files go; default a fresh temporary directory. */
  resultsDir?: string;
  onProgress?(progress: Progress): void;
}

/**
 * Runs the definition locally: the parent with aws-local-stepfunctions, each Distributed Map's
 * children as executions of their own, with a Task handler per invoked function (by its logical
 * id, as TASK_FUNCTIONS lists them) and the context object a real execution has (its name keys the
 * idempotency of each item). An ItemReader's Key is a local file. A failed execution rejects with
 * an Error whose `cause` is named as its error.
 */
export const runLocally = async (
  definition: Record<string, unknown>,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  options: RunOptions = {},
): Promise<FleetRun> => {
  validateDefinition(definition);
  const name = randomUUID();
  const context: ExecutionContext = {
    Id: `arn:aws:states:eu-central-1:000000000000:execution:fleet-rotation:${name}`,
    Name: name,
    RoleArn: 'arn:aws:iam::000000000000:role/local',
    StartTime: new Date().toISOString(),
  };
  const parent = distributedParent(definition, () => context, {
    handlers,
    retryIntervalMs: options.retryIntervalMs,
    resultsDir: options.resultsDir ?? (await mkdtemp(join(tmpdir(), 'fleet-results-'))),
    keepChildren: true,
    readItems: async (key, format) => readInventory(key, format === 'CSV' ? 'CSV' : 'JSONL'),
    onProgress: options.onProgress,
  });
  const machine = machineOf(definition, () => parent.definition);
  let execution: Awaited<ReturnType<typeof runExecution>>;
  try {
    execution = await runExecution(
      machine,
      input,
      { Execution: { ...context, Input: input } },
      { taskResourceLocalHandlers: parent.handlers },
      parent.distributed,
    );
  } catch (error) {
    throw Object.assign(
      new Error(`execution failed: ${(error as Error).name}: ${(error as Error).message}`),
      {
        cause: error,
      },
    );
  }
  const runs = [...parent.mapRuns.values()];
  const rotations = runs.filter((run) => run.state.startsWith('Rotate'));
  return {
    output: execution.output as Record<string, any>,
    succeeded: rotations.flatMap((run) =>
      run.children.filter((c) => c.status === 'SUCCEEDED').map((c) => c.output as Record<string, any>),
    ),
    failed: rotations.flatMap((run) => run.children.filter((c) => c.status === 'FAILED').map(failureOf)),
    history: {
      parent: execution.historyEvents,
      children: runs.flatMap((run) =>
        run.children.map((c) => ({ map: run.state, index: c.index, events: c.historyEvents })),
      ),
    },
    mapRuns: runs,
  };
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

/** The state machine's input from the command line, checked before anything runs. */
export const fleetInputFromArgs = async (argv: string[]): Promise<{ input: FleetInput; check: boolean }> => {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      inventory: { type: 'string' },
      'dry-run': { type: 'boolean' },
      account: { type: 'string' },
      check: { type: 'boolean' },
    },
  });
  const options: Record<string, unknown> = {};
  if (values['dry-run']) options.dryRun = true;
  if (values.account !== undefined) options.account = values.account;
  if (values.inventory !== undefined) {
    if (positionals.length > 0) throw new Error('give a fleet file or --inventory, not both');
    const key = resolve(values.inventory);
    const input = parseFleetInput('command line', { ...options, inventory: { key, format: formatOf(key) } });
    // Every item checked before anything runs, as the file's own lines.
    await readInventory(key, formatOf(key), options);
    return { input, check: values.check ?? false };
  }
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new Error('usage: npm run --silent fleet -- <fleet.json> | --inventory <file.jsonl|file.csv>');
  const content = parseJson(file, await readFile(file, 'utf8'));
  const merged =
    content !== null && typeof content === 'object' && !Array.isArray(content)
      ? { ...(content as Record<string, unknown>), ...options }
      : content;
  return { input: parseFleetInput(file, merged), check: values.check ?? false };
};

/** One stderr line a second at most, and the last one always. */
const progressPrinter = () => {
  let last = 0;
  return (p: Progress) => {
    const now = Date.now();
    if (p.done !== p.total && now - last < 1000) return;
    last = now;
    process.stderr.write(
      `run-fleet: ${p.state} ${p.done}/${p.total} done, ${p.succeeded} succeeded, ${p.failed} failed\n`,
    );
  };
};

const main = async () => {
  const { input, check } = await fleetInputFromArgs(process.argv.slice(2));
  if (check) {
    process.stdout.write(`${JSON.stringify(input, null, 2)}\n`);
    return;
  }
  const lambdaEndpoint = `http://127.0.0.1:${process.env.OFFLINE_LAMBDA_PORT ?? 3002}`;
  if (!(await lambdaEndpointReachable(lambdaEndpoint))) {
    process.stderr.write(
      `run-fleet: serverless offline's Lambda API does not answer at ${lambdaEndpoint} (${NOT_RUNNING_HINT}; OFFLINE_LAMBDA_PORT moves it)\n`,
    );
    process.exit(1);
  }
  let transportFailures = 0;
  const handlers = Object.fromEntries(
    Object.entries(TASK_FUNCTIONS).map(([logicalId, fn]) => {
      const invoke = offlineLambdaInvoke(lambdaEndpoint, `cluster-password-reset-local-${fn}`);
      return [
        logicalId,
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
  const run = await runLocally(await fleetDefinition(), input, handlers, { onProgress: progressPrinter() });
  const result = { ...run.output, succeeded: run.succeeded, failed: run.failed };
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
    process.stderr.write(`run-fleet: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
