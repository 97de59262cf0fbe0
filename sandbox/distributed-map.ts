import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

// What aws-local-stepfunctions does not do, done around it, so that the fleet state machine runs
// locally as deployed: a DISTRIBUTED Map (its ItemReader, one child execution per item, its
// tolerated failures, its ResultWriter, DescribeMapRun), and two limits of the platform
// (256 KB per state input or output, 25,000 history events per execution). Everything else (the
// parent's states, each child's states, retries, intrinsic functions) is aws-local-stepfunctions'.
// See docs/fleet.md for what this does not model.

// biome-ignore lint/suspicious/noExplicitAny: an ASL definition, as `serverless print` resolves it
type Definition = Record<string, any>;
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;
type TaskHandler = (input: unknown) => Promise<unknown>;

/** Step Functions' limit on a state's input or output, and on an execution's input. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;
/** Step Functions ends an execution at this many history events. */
export const HISTORY_EVENT_LIMIT = 25_000;

const DESCRIBE_MAP_RUN = 'arn:aws:states:::aws-sdk:sfn:describeMapRun';

export class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null), 'utf8');

/**
 * The history events Step Functions would record for a local execution's event log: a Task
 * (lambda:invoke) is Entered, Scheduled, Started, then Succeeded and Exited, or Failed; a retry is
 * Scheduled and Started again; a Distributed Map is Entered, MapRunStarted, MapRunSucceeded (or
 * Failed), Exited; every other state Entered and Exited; the execution Started and ended.
 */
export const awsEventsOf = (event: EventLog, distributedStates: ReadonlySet<string> = new Set()): number => {
  const state = 'state' in event ? (event.state as { name: string; type: string }) : undefined;
  const distributed = state !== undefined && distributedStates.has(state.name);
  const task = state?.type === 'Task' && !distributed;
  switch (event.type) {
    case 'StateEntered':
      return task ? 3 : distributed ? 2 : 1;
    case 'StateExited':
      return task || distributed ? 2 : 1;
    case 'StateFailed':
      return task || distributed ? 1 : 0;
    case 'StateRetried':
      return 2;
    case 'StateCaught':
      return 1;
    default:
      // Execution*, MapIteration*, ParallelBranch*: one event each.
      return 1;
  }
};

export const awsHistoryEvents = (
  events: EventLog[],
  distributedStates: ReadonlySet<string> = new Set(),
): number => events.reduce((count, event) => count + awsEventsOf(event, distributedStates), 0);

/** Sizes checked on every state's input and output, as the platform checks them. */
const oversized = (event: EventLog): string | undefined => {
  if (event.type === 'ExecutionStarted' && bytes(event.input) > PAYLOAD_LIMIT_BYTES)
    return 'the execution input';
  if (event.type === 'StateEntered' && bytes(event.state.input) > PAYLOAD_LIMIT_BYTES)
    return `the input of state ${event.state.name}`;
  if (event.type === 'StateExited' && bytes(event.state.output) > PAYLOAD_LIMIT_BYTES)
    return `the output of state ${event.state.name}`;
  return undefined;
};

export interface ExecutionContext {
  Id: string;
  Name: string;
  RoleArn: string;
  StartTime: string;
}

export interface Execution {
  output: unknown;
  /** The history events Step Functions would record for it. */
  historyEvents: number;
}

/**
 * Runs one execution with aws-local-stepfunctions and fails it as Step Functions would when a
 * state's input or output passes 256 KB (States.DataLimitExceeded) or its history passes 25,000
 * events. The error thrown is a StatesError named as the execution's error.
 */
export const runExecution = async (
  machine: StateMachine,
  input: unknown,
  context: Record<string, unknown>,
  overrides: Record<string, unknown>,
  distributedStates: ReadonlySet<string> = new Set(),
): Promise<Execution> => {
  if (bytes(input) > PAYLOAD_LIMIT_BYTES)
    throw new StatesError(
      'States.DataLimitExceeded',
      `the execution input is over ${PAYLOAD_LIMIT_BYTES} bytes`,
    );
  const execution = machine.run(input as never, { overrides: overrides as never, context: context as never });
  let historyEvents = 0;
  let tooLarge: string | undefined;
  let stop: () => void = () => {};
  const consumed = (async () => {
    for await (const event of execution.eventLogs) {
      historyEvents += awsEventsOf(event, distributedStates);
      tooLarge ??= oversized(event);
      if (tooLarge !== undefined || historyEvents > HISTORY_EVENT_LIMIT) stop();
    }
  })();
  stop = () => execution.abort();
  let output: unknown;
  let failure: unknown;
  try {
    output = await execution.result;
  } catch (error) {
    failure = error;
  }
  await consumed.catch(() => undefined);
  if (tooLarge !== undefined)
    throw new StatesError('States.DataLimitExceeded', `${tooLarge} is over ${PAYLOAD_LIMIT_BYTES} bytes`);
  if (historyEvents > HISTORY_EVENT_LIMIT)
    throw new StatesError('States.Runtime', `the execution passed ${HISTORY_EVENT_LIMIT} history events`);
  if (failure !== undefined) {
    const cause = (failure as { cause?: Error }).cause ?? (failure as Error);
    throw Object.assign(new StatesError(cause.name, cause.message), { historyEvents });
  }
  return { output, historyEvents };
};

const machines = new WeakMap<object, StateMachine>();
/**
 * One StateMachine per definition object: constructing one validates it (asl-validator compiles
 * its schema each time), which would cost more than running a small fleet.
 */
export const machineOf = (key: object, definition: () => object = () => key): StateMachine => {
  let machine = machines.get(key);
  if (!machine) {
    machine = new StateMachine(definition() as never, { validationOptions: { checkArn: false } });
    machines.set(key, machine);
  }
  return machine;
};

const validated = new WeakSet<object>();
/**
 * The whole definition checked as Step Functions checks it (asl-validator, through
 * aws-local-stepfunctions): its Distributed Maps, ItemReaders and ResultWriters included, and its
 * state names unique across the nested definitions too.
 */
export const validateDefinition = (definition: Definition): void => {
  if (validated.has(definition)) return;
  const resolved = JSON.parse(
    JSON.stringify(definition, (_, value) =>
      value && typeof value === 'object' && ('Fn::GetAtt' in value || 'Ref' in value)
        ? 'arn:aws:lambda:eu-central-1:000000000000:function:stand-in'
        : value,
    ),
  );
  new StateMachine(resolved, { validationOptions: { checkArn: true, checkPaths: true } });
  validated.add(definition);
};

const evaluators = new WeakMap<object, StateMachine>();
/** A JSONPath template evaluated as Step Functions does, by a one-state machine (built once). */
const evaluate = async (template: object, input: unknown, context: Record<string, unknown>) => {
  let machine = evaluators.get(template);
  if (!machine) {
    machine = new StateMachine(
      { StartAt: 'T', States: { T: { Type: 'Pass', Parameters: template, End: true } } } as never,
      { validationOptions: { noValidate: true } },
    );
    evaluators.set(template, machine);
  }
  return machine.run(input as never, { context: context as never }).result;
};

export interface ChildRecord {
  index: number;
  input?: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: string;
  cause?: string;
  historyEvents: number;
}

export interface MapRun {
  arn: string;
  state: string;
  executionType: string;
  total: number;
  succeeded: number;
  failed: number;
  children: ChildRecord[];
  resultsKey?: string;
}

export interface Progress {
  state: string;
  done: number;
  total: number;
  succeeded: number;
  failed: number;
}

/** The function a `lambda:invoke` Task invokes: its `FunctionName`'s Fn::GetAtt logical id. */
export const invokedFunction = (state: Definition): string | undefined =>
  state.Parameters?.FunctionName?.['Fn::GetAtt']?.[0] ?? undefined;

export interface DistributedMapOptions {
  /** The items an ItemReader reads: locally, `Key` is a file. */
  readItems(key: string, format: string): Promise<unknown[]>;
  /** Task handlers of the children, by the logical id of the function they invoke. */
  handlers: Record<string, TaskHandler>;
  retryIntervalMs?: number;
  /** Where ResultWriter writes (stands in for the bucket). */
  resultsDir: string;
  onProgress?(progress: Progress): void;
  /** Keep each child's record in MapRun.children (tests and the runner's lists). */
  keepChildren?: boolean;
}

const isDistributed = (state: Definition) =>
  state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED';

/** Runs `work` over `items` with at most `limit` at once; `stop()` ends the scheduling. */
const pool = async <T>(items: T[], limit: number, work: (item: T, index: number) => Promise<boolean>) => {
  let next = 0;
  let stopped = false;
  const worker = async () => {
    while (!stopped && next < items.length) {
      const index = next++;
      if (!(await work(items[index] as T, index))) stopped = true;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
};

/**
 * The parent definition, with each Distributed Map replaced by a Task that this module runs, and
 * the handlers for those Tasks and for DescribeMapRun.
 */
export const distributedParent = (
  definition: Definition,
  parentContext: () => ExecutionContext,
  options: DistributedMapOptions,
) => {
  const mapRuns = new Map<string, MapRun>();
  const handlers: Record<string, TaskHandler> = {};
  const states: Record<string, Definition> = {};
  const distributed = new Set<string>();
  for (const [name, state] of Object.entries(definition.States as Record<string, Definition>)) {
    if (state.Type === 'Task' && state.Resource === DESCRIBE_MAP_RUN) {
      handlers[name] = async (input) => {
        const run = mapRuns.get((input as { MapRunArn: string }).MapRunArn);
        if (!run) throw new StatesError('Sfn.ResourceNotFoundException', 'no such map run');
        return {
          MapRunArn: run.arn,
          Status: 'SUCCEEDED',
          ItemCounts: {
            Total: run.total,
            Succeeded: run.succeeded,
            Failed: run.failed,
            TimedOut: 0,
            Aborted: 0,
            Pending: 0,
            Running: 0,
            ResultsWritten: run.resultsKey ? run.total : 0,
          },
        };
      };
      states[name] = state;
      continue;
    }
    if (!isDistributed(state)) {
      states[name] = state;
      continue;
    }
    distributed.add(name);
    const {
      Type,
      ItemProcessor,
      ItemReader,
      ItemsPath,
      ItemSelector,
      MaxConcurrency,
      ResultWriter,
      ToleratedFailureCount,
      ToleratedFailurePercentage,
      ItemBatcher,
      ...rest
    } = state;
    if (ItemBatcher) throw new Error(`${name}: ItemBatcher is not run locally`);
    // A map run takes as long as it takes; a Task's local default is 60 s (and setTimeout holds 24 days).
    states[name] = {
      ...rest,
      Type: 'Task',
      Resource: 'arn:aws:states:::local:distributed-map',
      TimeoutSeconds: 2_000_000,
    };
    // A child execution runs ItemProcessor as a state machine of its own.
    const child = machineOf(ItemProcessor, () => {
      const { ProcessorConfig: _, ...childDefinition } = ItemProcessor;
      return childDefinition;
    });
    const taskStates = Object.entries(ItemProcessor.States as Record<string, Definition>)
      .filter(([, s]) => s.Type === 'Task')
      .map(([n]) => n);
    const childHandlers = Object.fromEntries(
      Object.entries(ItemProcessor.States as Record<string, Definition>).flatMap(([n, s]) => {
        const handler = s.Type === 'Task' ? options.handlers[invokedFunction(s) ?? ''] : undefined;
        return handler ? [[n, handler]] : [];
      }),
    );
    const unhandled = taskStates.filter((n) => !(n in childHandlers));
    // No Task may fall through to aws-local-stepfunctions' own Lambda client, which calls AWS.
    if (unhandled.length > 0) throw new Error(`${name}: no local handler for ${unhandled.join(', ')}`);
    const itemsTemplate = { 'items.$': ItemsPath ?? '$' };
    handlers[name] = async (input) => {
      const context = parentContext();
      let items: unknown[];
      if (ItemReader) {
        const { Key } = (await evaluate(ItemReader.Parameters, input, { Execution: context })) as {
          Key: string;
        };
        items = await options.readItems(Key, ItemReader.ReaderConfig?.InputType ?? 'JSON');
      } else {
        items = (
          (await evaluate({ 'items.$': ItemsPath ?? '$' }, input, { Execution: context })) as {
            items: unknown[];
          }
        ).items;
      }
      const runId = randomUUID();
      const run: MapRun = {
        arn: `${context.Id.replace(':execution:', ':mapRun:').replace(/:[^:]+$/, '')}/${name}:${runId}`,
        state: name,
        executionType: ItemProcessor.ProcessorConfig.ExecutionType ?? 'STANDARD',
        total: items.length,
        succeeded: 0,
        failed: 0,
        children: [],
      };
      mapRuns.set(run.arn, run);
      const toleratedCount =
        ToleratedFailureCount ?? (ToleratedFailurePercentage === undefined ? 0 : Infinity);
      const toleratedShare = ToleratedFailurePercentage ?? (ToleratedFailureCount === undefined ? 0 : 100);
      const overTolerance = () =>
        run.failed > toleratedCount || (run.total > 0 && (run.failed / run.total) * 100 > toleratedShare);
      const records: ChildRecord[] = [];
      // The selector sees the state input without the items list when it does not name it: the
      // same result, without a copy of the whole list per item (aws-local-stepfunctions copies a
      // run's input), which would make a fleet's time grow with its square.
      const listKey = /^\$\.([A-Za-z0-9_]+)$/.exec(ItemsPath ?? '')?.[1];
      const selectorInput =
        listKey && !JSON.stringify(ItemSelector ?? {}).includes(`$.${listKey}`)
          ? Object.fromEntries(Object.entries(input as object).filter(([key]) => key !== listKey))
          : input;
      await pool(items, Number(MaxConcurrency ?? 0) || 1000, async (item, index) => {
        const childInput = ItemSelector
          ? await evaluate(ItemSelector, selectorInput, {
              Execution: context,
              Map: { Item: { Index: index, Value: item } },
            })
          : item;
        const childName = `${runId.slice(0, 8)}-${index}`;
        const record: ChildRecord = { index, input: childInput, status: 'SUCCEEDED', historyEvents: 0 };
        try {
          const result = await runExecution(
            child,
            childInput,
            {
              Execution: {
                Id: `${context.Id.replace(/:[^:]+$/, '')}/${name}:${childName}`,
                Name: childName,
                RoleArn: context.RoleArn,
                StartTime: new Date().toISOString(),
              },
            },
            {
              taskResourceLocalHandlers: childHandlers,
              ...(options.retryIntervalMs === undefined
                ? {}
                : {
                    retryIntervalOverrides: Object.fromEntries(
                      taskStates.map((s) => [s, options.retryIntervalMs as number]),
                    ),
                  }),
            },
          );
          record.output = result.output;
          record.historyEvents = result.historyEvents;
          run.succeeded++;
        } catch (error) {
          record.status = 'FAILED';
          record.error = (error as Error).name;
          record.cause = (error as Error).message;
          record.historyEvents = (error as { historyEvents?: number }).historyEvents ?? 0;
          run.failed++;
        }
        records.push(record);
        options.onProgress?.({
          state: name,
          done: run.succeeded + run.failed,
          total: run.total,
          succeeded: run.succeeded,
          failed: run.failed,
        });
        return !overTolerance();
      });
      records.sort((a, b) => a.index - b.index);
      if (options.keepChildren) run.children = records;
      else run.children = records.map(({ input: _, output: __, ...r }) => r);
      if (ResultWriter) {
        const prefix = String(ResultWriter.Parameters?.Prefix ?? '');
        const dir = join(options.resultsDir, prefix, runId);
        await mkdir(dir, { recursive: true });
        const jsonl = ResultWriter.WriterConfig?.OutputType === 'JSONL';
        const write = async (status: string, entries: ChildRecord[]) => {
          if (entries.length === 0) return [];
          const file = `${status}_0.${jsonl ? 'jsonl' : 'json'}`;
          const lines = entries.map((r) => ({
            Name: `${runId.slice(0, 8)}-${r.index}`,
            Input: JSON.stringify(r.input),
            Status: r.status,
            ...(r.status === 'SUCCEEDED'
              ? { Output: JSON.stringify(r.output) }
              : { Error: r.error, Cause: r.cause }),
          }));
          await writeFile(
            join(dir, file),
            jsonl ? `${lines.map((l) => JSON.stringify(l)).join('\n')}\n` : JSON.stringify(lines),
          );
          return [{ Key: join(prefix, runId, file), Size: entries.length }];
        };
        const manifest = {
          DestinationBucket: 'local',
          MapRunArn: run.arn,
          ResultFiles: {
            SUCCEEDED: await write(
              'SUCCEEDED',
              records.filter((r) => r.status === 'SUCCEEDED'),
            ),
            FAILED: await write(
              'FAILED',
              records.filter((r) => r.status === 'FAILED'),
            ),
            PENDING: [],
          },
        };
        run.resultsKey = join(dir, 'manifest.json');
        await writeFile(run.resultsKey, JSON.stringify(manifest));
      }
      if (overTolerance()) {
        const first = records.find((r) => r.status === 'FAILED');
        throw new StatesError(
          'States.ExceedToleratedFailureThreshold',
          `${run.failed} of ${run.total} items failed, e.g. ${first?.error}: ${first?.cause}`,
        );
      }
      if (ResultWriter)
        return { MapRunArn: run.arn, ResultWriterDetails: { Bucket: 'local', Key: run.resultsKey } };
      return records.map((r) => r.output);
    };
  }
  return { definition: { ...definition, States: states }, handlers, mapRuns, distributed };
};
