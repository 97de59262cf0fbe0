'use strict';

// The fleet state machine (serverless.yml `stepFunctions`): rotates the passwords of up to 100,000
// clusters in one execution (docs/fleet.md). Generated rather than written out because its three
// sources (the input's `targets`, a JSON Lines or a CSV inventory in S3) each need a Check and a
// Rotate Map of their own (a Map's ItemReader and its InputType are fixed), and Step Functions
// wants every state name unique across the whole definition, nested ones included.
//
// Input: { "targets": [envelope, …] } (a small fleet: the input is capped at 256 KB) or
// { "inventory": { "key": "inventory/….jsonl", "format": "JSONL" | "CSV" } } (in the stack's fleet
// bucket); optionally "dryRun" and "account", which apply to every target.
// Output: { "options", "counts": { total, succeeded, failed, timedOut, aborted }, "mapRunArn",
// "results": { Bucket, Key } }, each cluster's result or error written to the bucket.
//
// Why it is shaped so (Step Functions ends an execution at 25,000 history events):
// - Both Maps are DISTRIBUTED: each cluster is a child execution of its own, so the parent's history
//   does not grow with the fleet, and no execution holds more than 10 events per cluster when no
//   retry is needed (a rotation child: ExecutionStarted, ChoiceStateEntered/Exited, TaskStateEntered,
//   TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited, ExecutionSucceeded = 9; each retry
//   adds TaskFailed, TaskScheduled, TaskStarted).
// - No chain of Choice/Pass states shapes a payload: the Task builds it in one step with
//   States.JsonMerge (idempotency key < target < fleet-wide options < caller), and one Choice routes
//   by provider.
// - Every target is checked (no password; nothing shaped like an API Gateway, EventBridge or Secrets
//   Manager event, which a handler would read as such) before any is rotated; one bad target fails
//   the execution at once, TargetRefused, and no cluster is touched. Any other field a target carries
//   is refused by the handler's strict schema (ValidationFailed, naming the field).
// - MaxConcurrency (fleetConcurrency) bounds the rotations in flight, hence the calls per provider
//   account. Huawei Cloud's and OTC's API gateway throttles per API and tenant (APIGW.0308; e.g. 60
//   requests/minute for MRS cluster operations,
//   https://support.huaweicloud.com/intl/en-us/api-mrs/mrs_02_0006.html); Naver Cloud's answers 429
//   without a published per-account rate
//   (https://api.ncloud-docs.com/docs/en/ai-application-service-apigateway). 5 rotations at once
//   send about 4 requests/s and 1 reset/s per account: docs/fleet.md.

const { FUNCTIONS_BY_PROVIDER, PROVIDERS } = require('./functions.cjs');

/** `ncloud-cdss` → `NcloudCdss`. */
const pascal = (id) =>
  id
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

const PASSWORD_CAUSE =
  'A target carries a password, which Step Functions would keep in plain text in the execution history; remove it, and the handler generates one';
const SHAPE_CAUSE =
  'A target is shaped like an API Gateway, EventBridge or Secrets Manager event; a fleet target holds the envelope fields alone';

/** The errors a rotation retries, with backoff and full jitter: passing refusals and Lambda's own. */
const RETRY = [
  {
    ErrorEquals: [
      'ClusterStateConflict',
      'ProviderThrottled',
      'ProviderUnavailable',
      'RotationInProgress',
      'SecretStoreFailed',
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
    ],
    IntervalSeconds: 10,
    BackoffRate: 2,
    MaxAttempts: 5,
    MaxDelaySeconds: 120,
    JitterStrategy: 'FULL',
  },
];

/** What would make a handler read a payload as an event rather than an envelope (lib/middleware/invocation.ts). */
const refusals = (suffix) => [
  { Variable: '$.target.password', IsPresent: true, Next: `PasswordNotAllowed${suffix}` },
  {
    Or: ['requestContext', 'detail', 'Step'].map((key) => ({ Variable: `$.target.${key}`, IsPresent: true })),
    Next: `NotAnEnvelope${suffix}`,
  },
];
const refusalStates = (suffix) => ({
  [`PasswordNotAllowed${suffix}`]: { Type: 'Fail', Error: 'PasswordNotAllowed', Cause: PASSWORD_CAUSE },
  [`NotAnEnvelope${suffix}`]: { Type: 'Fail', Error: 'NotAnEnvelope', Cause: SHAPE_CAUSE },
});

/** A check child (Express: no history kept; the log keeps errors only, without data). */
const checkProcessor = (suffix) => ({
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
  StartAt: `Inspect${suffix}`,
  States: {
    [`Inspect${suffix}`]: { Type: 'Choice', Choices: refusals(`Check${suffix}`), Default: `Clean${suffix}` },
    [`Clean${suffix}`]: { Type: 'Succeed', OutputPath: null },
    ...refusalStates(`Check${suffix}`),
  },
});

/** A rotation child (Standard): one Choice, then the provider's handler. */
const rotateProcessor = (suffix) => ({
  ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
  StartAt: `Route${suffix}`,
  States: {
    [`Route${suffix}`]: {
      Type: 'Choice',
      Choices: [
        ...refusals(`Rotate${suffix}`),
        ...PROVIDERS.map((provider) => ({
          And: [
            { Variable: '$.target.provider', IsPresent: true },
            { Variable: '$.target.provider', StringEquals: provider },
          ],
          Next: `Rotate${pascal(provider)}${suffix}`,
        })),
      ],
      Default: `UnknownProvider${suffix}`,
    },
    ...refusalStates(`Rotate${suffix}`),
    [`UnknownProvider${suffix}`]: {
      Type: 'Fail',
      Error: 'ValidationFailed',
      Cause: `provider must be ${PROVIDERS.map((p) => `"${p}"`).join(', ')}`,
    },
    ...Object.fromEntries(
      PROVIDERS.map((provider) => [
        `Rotate${pascal(provider)}${suffix}`,
        {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: { 'Fn::GetAtt': [FUNCTIONS_BY_PROVIDER[provider].function, 'Arn'] },
            'Payload.$':
              'States.JsonMerge(States.JsonMerge(States.JsonMerge($.key, $.target, false), $.fleet, false), $.caller, false)',
          },
          OutputPath: '$.Payload',
          Retry: RETRY,
          End: true,
        },
      ]),
    ),
  },
});

const ROTATE_SELECTOR = {
  'target.$': '$$.Map.Item.Value',
  'fleet.$': '$.fleet',
  // Retries of one item reuse one key and so converge; a target may bring its own.
  key: { 'idempotencyKey.$': "States.Format('{}-{}', $$.Execution.Name, $$.Map.Item.Index)" },
  caller: { 'caller.$': '$$.Execution.Id' },
};

const writer = (prefix, writerConfig) => ({
  Resource: 'arn:aws:states:::s3:putObject',
  Parameters: { Bucket: { Ref: 'FleetBucket' }, Prefix: prefix },
  ...(writerConfig ? { WriterConfig: writerConfig } : {}),
});

/** The Check and Rotate Maps of one source. */
const maps = (suffix, items, { concurrency, toleratedFailurePercentage }) => ({
  [`Check${suffix}`]: {
    Type: 'Map',
    ...items,
    ItemSelector: { 'target.$': '$$.Map.Item.Value' },
    ItemProcessor: checkProcessor(suffix),
    MaxConcurrency: 1000,
    // The first refused target ends the check, and the execution.
    ToleratedFailureCount: 0,
    ResultWriter: writer('results/checks'),
    ResultPath: null,
    Catch: [
      { ErrorEquals: ['States.ExceedToleratedFailureThreshold'], ResultPath: null, Next: 'TargetRefused' },
    ],
    Next: `Rotate${suffix}`,
  },
  [`Rotate${suffix}`]: {
    Type: 'Map',
    ...items,
    ItemSelector: ROTATE_SELECTOR,
    ItemProcessor: rotateProcessor(suffix),
    MaxConcurrency: concurrency,
    ToleratedFailurePercentage: toleratedFailurePercentage,
    ResultWriter: writer('results/rotations', { OutputType: 'JSONL', Transformation: 'NONE' }),
    ResultPath: '$.rotation',
    Next: 'Summarize',
  },
});

const inventoryReader = (config) => ({
  ItemReader: {
    Resource: 'arn:aws:states:::s3:getObject',
    ReaderConfig: config,
    Parameters: { Bucket: { Ref: 'FleetBucket' }, 'Key.$': '$.inventory.key' },
  },
});

/** The state machine for serverless-step-functions, from the stage's parameters. */
const fleetRotation = ({ service, stage, concurrency, toleratedFailurePercentage }) => {
  const limits = { concurrency, toleratedFailurePercentage };
  const inventory = (format) => ({
    And: [
      { Variable: '$.inventory.key', IsPresent: true },
      { Variable: '$.inventory.format', IsPresent: true },
      { Variable: '$.inventory.format', StringEquals: format },
    ],
  });
  return {
    name: `${service}-${stage}-fleet-rotation`,
    // serverless.yml: trusted by Step Functions for this state machine only.
    role: { 'Fn::GetAtt': ['FleetRotationRole', 'Arn'] },
    // Errors only, and never an execution's input or output.
    loggingConfig: {
      level: 'ERROR',
      includeExecutionData: false,
      destinations: [{ 'Fn::GetAtt': ['FleetRotationLogGroup', 'Arn'] }],
    },
    definition: {
      Comment: 'Rotate the admin passwords of a fleet of clusters',
      StartAt: 'FleetOptions',
      States: {
        // The fleet-wide options, once per execution (not per cluster): { dryRun?, account? }.
        FleetOptions: { Type: 'Pass', Result: {}, ResultPath: '$.fleet', Next: 'CheckDryRun' },
        CheckDryRun: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.password', IsPresent: true, Next: 'PasswordNotAllowed' },
            {
              And: [
                { Variable: '$.dryRun', IsPresent: true },
                { Not: { Variable: '$.dryRun', IsBoolean: true } },
              ],
              Next: 'BadFleetInput',
            },
            { Variable: '$.dryRun', IsPresent: true, Next: 'CopyDryRun' },
          ],
          Default: 'CheckAccount',
        },
        CopyDryRun: {
          Type: 'Pass',
          InputPath: '$.dryRun',
          ResultPath: '$.fleet.dryRun',
          Next: 'CheckAccount',
        },
        CheckAccount: {
          Type: 'Choice',
          Choices: [{ Variable: '$.account', IsPresent: true, Next: 'CopyAccount' }],
          Default: 'Source',
        },
        CopyAccount: { Type: 'Pass', InputPath: '$.account', ResultPath: '$.fleet.account', Next: 'Source' },
        Source: {
          Type: 'Choice',
          Choices: [
            { Variable: '$.inventory', IsPresent: true, Next: 'InventoryFormat' },
            { Variable: '$.targets[0]', IsPresent: true, Next: 'CheckTargets' },
          ],
          Default: 'BadFleetInput',
        },
        InventoryFormat: {
          Type: 'Choice',
          Choices: [
            { ...inventory('JSONL'), Next: 'CheckJsonLines' },
            { ...inventory('CSV'), Next: 'CheckCsv' },
          ],
          Default: 'BadFleetInput',
        },
        BadFleetInput: {
          Type: 'Fail',
          Error: 'ValidationFailed',
          Cause:
            'The input must hold a non-empty "targets" list or an "inventory" { "key", "format": "JSONL" or "CSV" }, and "dryRun", when given, must be true or false',
        },
        PasswordNotAllowed: {
          Type: 'Fail',
          Error: 'PasswordNotAllowed',
          Cause:
            'A fleet input carries a password, which Step Functions would keep in plain text in the execution history; remove it, and the handler generates one',
        },
        TargetRefused: {
          Type: 'Fail',
          Error: 'TargetRefused',
          Cause:
            "A target carries a password (PasswordNotAllowed) or is shaped like an API Gateway, EventBridge or Secrets Manager event (NotAnEnvelope); the check's FAILED results under results/checks/ name it. No cluster was rotated.",
        },
        // 1. Every target checked, then 2. one rotation child per cluster, per source.
        ...maps('Targets', { ItemsPath: '$.targets' }, limits),
        ...maps('JsonLines', inventoryReader({ InputType: 'JSONL' }), limits),
        ...maps('Csv', inventoryReader({ InputType: 'CSV', CSVHeaderLocation: 'FIRST_ROW' }), limits),
        // 3. The summary: the map run's counts, and where its results are.
        Summarize: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sfn:describeMapRun',
          Parameters: { 'MapRunArn.$': '$.rotation.MapRunArn' },
          ResultSelector: {
            counts: {
              'total.$': '$.ItemCounts.Total',
              'succeeded.$': '$.ItemCounts.Succeeded',
              'failed.$': '$.ItemCounts.Failed',
              'timedOut.$': '$.ItemCounts.TimedOut',
              'aborted.$': '$.ItemCounts.Aborted',
            },
            'mapRunArn.$': '$.MapRunArn',
          },
          ResultPath: '$.summary',
          Next: 'Report',
        },
        Report: {
          Type: 'Pass',
          Parameters: {
            'options.$': '$.fleet',
            'counts.$': '$.summary.counts',
            'mapRunArn.$': '$.summary.mapRunArn',
            'results.$': '$.rotation.ResultWriterDetails',
          },
          End: true,
        },
      },
    },
  };
};

const integer = (name, value, min, max) => {
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw new Error(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value)}`);
  return number;
};

module.exports = async ({ resolveVariable }) =>
  fleetRotation({
    service: await resolveVariable('self:service'),
    stage: await resolveVariable('sls:stage'),
    // Step Functions' own bound on a Distributed Map's concurrency is 10,000.
    concurrency: integer('fleetConcurrency', await resolveVariable('param:fleetConcurrency'), 1, 10000),
    toleratedFailurePercentage: integer(
      'fleetToleratedFailurePercentage',
      await resolveVariable('param:fleetToleratedFailurePercentage'),
      0,
      100,
    ),
  });
module.exports.fleetRotation = fleetRotation;
