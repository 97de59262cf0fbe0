import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesPattern } from '../../sandbox/event-pattern.ts';
import { transformInput } from '../../sandbox/input-transformer.ts';

// The request bus, its policy, the request rules, the fleet state machine and its role, as
// `serverless package --stage ci` writes them, with two request senders given as a parameter.

const run = promisify(execFile);
const require = createRequire(import.meta.url);
type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: unknown };
let dir: string;
let resources: Record<string, Resource>;

const ROLE_SENDER = 'arn:aws:iam::111122223333:role/ops-rotation';
const ACCOUNT_SENDER = 'arn:aws:iam::444455556666:root';
const BUS = 'cluster-password-reset-ci-requests';
const BUS_ARN = {
  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${BUS}`,
};
const FUNCTIONS: Record<string, string> = {
  'ncloud-cdss': 'NcloudCdssResetCmakPasswordLambdaFunction',
  'otc-css': 'OtcCssResetAdminPasswordLambdaFunction',
  'huaweicloud-css': 'HuaweicloudCssResetAdminPasswordLambdaFunction',
};
const MACHINE = 'cluster-password-reset-ci-fleet-rotation';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sls-events-'));
  await run(
    'serverless',
    [
      'package',
      '--stage',
      'ci',
      '--region',
      'eu-central-1',
      '--package',
      dir,
      '--param',
      `requestSenders=${ROLE_SENDER},${ACCOUNT_SENDER}`,
    ],
    {
      env: {
        ...process.env,
        ESBUILD_WORK_FOLDER: '.esbuild-events-test',
        SLS_TELEMETRY_DISABLED: '1',
        AWS_ACCESS_KEY_ID: '',
        AWS_SECRET_ACCESS_KEY: '',
      },
      timeout: 120_000,
    },
  );
  const template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** Every rule of the request bus: the handlers' and the catch-all rules. */
const busRules = () =>
  ofType('AWS::Events::Rule').filter(([, r]) =>
    JSON.stringify(r.Properties.EventBusName ?? '').includes('RequestBus'),
  );

/** The request rules: those on the request bus that invoke a handler. */
const requestRules = () =>
  busRules().filter(([, r]) =>
    Object.values(FUNCTIONS).includes(r.Properties.Targets[0].Arn['Fn::GetAtt'][0]),
  );

/** The catch-all rules: those on the request bus that send to the dead-letter queue. */
const catchAllRules = () =>
  busRules().filter(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === 'FailedRequestsQueue');

const requestEvent = (detail: Record<string, unknown>) => ({
  version: '0',
  id: 'e1',
  source: 'cluster-password-reset',
  'detail-type': 'Cluster Password Reset Requested',
  account: '123456789012',
  time: '2026-11-23T10:00:00Z',
  region: 'eu-central-1',
  resources: [],
  detail,
});

describe('the request bus', () => {
  it("is the stage's own, and its policy admits the listed senders alone", () => {
    const buses = ofType('AWS::Events::EventBus');
    expect(buses.map(([id]) => id)).toEqual(['RequestBus']);
    const { Name, Policy } = resources.RequestBus?.Properties ?? {};
    expect(Name).toBe(BUS);
    expect(Policy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'RequestSenders',
          Effect: 'Allow',
          Principal: { AWS: [ROLE_SENDER, ACCOUNT_SENDER] },
          Action: 'events:PutEvents',
          Resource: BUS_ARN,
        },
        {
          // Everyone else, this account's principals included, whatever their IAM policies allow.
          Sid: 'NoOtherSenders',
          Effect: 'Deny',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: BUS_ARN,
          Condition: {
            ArnNotLike: { 'aws:PrincipalArn': [ROLE_SENDER] },
            StringNotEquals: { 'aws:PrincipalAccount': ['444455556666'] },
          },
        },
      ],
    });
    // No separate bus policy resource competes with the bus's own.
    expect(ofType('AWS::Events::EventBusPolicy')).toEqual([]);
  });

  const policyOf = require('../../deploy/request-bus-policy.cjs') as ((options: {
    resolveVariable: (name: string) => Promise<unknown>;
  }) => Promise<Record<string, any>>) & { parseSenders: (value: unknown) => unknown[] };
  const withSenders = (senders: unknown) =>
    policyOf({
      resolveVariable: async (name) =>
        ({ 'self:service': 'cluster-password-reset', 'sls:stage': 'ci', 'param:requestSenders': senders })[
          name
        ],
    });

  it('admits, by default, the principals that IAM allows in this account and no other account', async () => {
    for (const none of [[], '', undefined]) {
      expect(await withSenders(none)).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'ThisAccountThroughIam',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' } },
            Action: 'events:PutEvents',
            Resource: BUS_ARN,
          },
        ],
      });
    }
  });

  it('denies only by principal when no account root is listed, and takes a YAML list', async () => {
    const policy = await withSenders([ROLE_SENDER]);
    expect(policy.Statement[1].Condition).toEqual({ ArnNotLike: { 'aws:PrincipalArn': [ROLE_SENDER] } });
  });

  it.each([
    ['arn:aws:sts::111122223333:assumed-role/ops/session'],
    ['111122223333'],
    ['*'],
    ['arn:aws:iam::111122223333:group/ops'],
    [42],
  ])('refuses %j as a sender at package time', async (entry) => {
    await expect(withSenders([entry])).rejects.toThrow(
      'requestSenders[0] must be an IAM role, user or account root ARN',
    );
  });
});

describe('the request rules', () => {
  it.each(Object.entries(FUNCTIONS))(
    'sends %s requests without a password, on the request bus, to its own function',
    (provider, fn) => {
      const mine = requestRules().filter(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0] === fn);
      expect(mine).toHaveLength(1);
      const [ruleId, rule] = mine[0] as [string, Resource];
      expect(rule.Properties.EventBusName).toEqual({ 'Fn::GetAtt': ['RequestBus', 'Name'] });
      expect(rule.Properties.EventPattern).toEqual({
        source: ['cluster-password-reset'],
        'detail-type': ['Cluster Password Reset Requested'],
        detail: { provider: [provider], password: [{ exists: false }] },
      });
      // EventBridge may invoke the function for this rule of the request bus only.
      const permissions = ofType('AWS::Lambda::Permission').filter(
        ([, p]) =>
          p.Properties.Principal === 'events.amazonaws.com' &&
          p.Properties.FunctionName['Fn::GetAtt'][0] === fn,
      );
      expect(permissions).toHaveLength(1);
      const sourceArn = JSON.stringify(permissions[0]?.[1].Properties.SourceArn);
      expect(sourceArn).toContain('{"Fn::GetAtt":["RequestBus","Name"]}');
      expect(sourceArn).toContain(JSON.stringify(rule.Properties.Name));
      expect(ruleId).toBeTruthy();
    },
  );

  it('has no request rule on any other bus', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventPattern);
    expect(rules.map(([id]) => id).sort()).toEqual(
      busRules()
        .map(([id]) => id)
        .sort(),
    );
    expect(requestRules()).toHaveLength(3);
    expect(catchAllRules()).toHaveLength(2);
  });

  /** The functions whose request rule matches the event, as EventBridge would route it. */
  const routed = (event: unknown) =>
    requestRules()
      .filter(([, r]) => matchesPattern(r.Properties.EventPattern, event))
      .map(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0]);

  it.each(Object.entries(FUNCTIONS))(
    'routes a %s request without a password to its function alone',
    (provider, fn) => {
      expect(routed(requestEvent({ provider, region: 'eu-de', clusterId: '1009123' }))).toEqual([fn]);
    },
  );

  it.each([
    ['a string', 'Plain-text1!'],
    ['an empty string', ''],
    ['null', null],
    ['a number', 12345678],
    ['a list of strings', ['Plain-text1!']],
  ])('routes a request whose detail.password is %s to no function', (_kind, password) => {
    for (const provider of Object.keys(FUNCTIONS)) {
      expect(routed(requestEvent({ provider, region: 'eu-de', clusterId: '1009123', password }))).toEqual([]);
    }
  });

  it("tells the sandbox (npm start) each rule's bus, so that it routes by bus as EventBridge does", () => {
    const Plugin = require('../../sandbox/offline-plugin.cjs');
    const bus = { Type: 'AWS::Events::EventBus', Properties: { Name: BUS } };
    const plugin = new Plugin(
      { service: { resources: [{ Resources: { RequestBus: bus } }] } },
      {},
      { log: {} },
    );
    expect(plugin.busNameOf({ 'Fn::GetAtt': ['RequestBus', 'Name'] })).toBe(BUS);
    expect(plugin.busNameOf({ Ref: 'RequestBus' })).toBe(BUS);
    expect(plugin.busNameOf(`arn:aws:events:eu-central-1:000000000000:event-bus/${BUS}`)).toBe(BUS);
    expect(plugin.busNameOf(undefined)).toBe('default');
    expect(plugin.busNameOf({ 'Fn::GetAtt': ['NoSuchBus', 'Name'] })).toBeUndefined();
  });

  it("matches as EventBridge's exists does: on leaf values only", () => {
    const pattern = { detail: { password: [{ exists: false }] } };
    const present = { detail: { password: [{ exists: true }] } };
    for (const absent of [
      {},
      { password: [] },
      { password: { value: 'x' } },
      { password: [{ value: 'x' }] },
    ]) {
      expect(matchesPattern(pattern, { detail: absent }), JSON.stringify(absent)).toBe(true);
      expect(matchesPattern(present, { detail: absent }), JSON.stringify(absent)).toBe(false);
    }
    expect(matchesPattern(pattern, {})).toBe(true);
    for (const leaf of [null, '', 'x', ['x']])
      expect(matchesPattern(present, { detail: { password: leaf } })).toBe(true);
    // An unknown filter never matches.
    expect(matchesPattern({ detail: { password: [{ prefix: '' }] } }, { detail: { password: 'x' } })).toBe(
      false,
    );
    expect(matchesPattern({ detail: { password: [{ exists: 'no' }] } }, { detail: {} })).toBe(false);
  });

  it('matches anything-but and $or as EventBridge does: anything-but needs a value', () => {
    const but = { detail: { provider: [{ 'anything-but': ['a', 'b'] }] } };
    expect(matchesPattern(but, { detail: { provider: 'c' } })).toBe(true);
    expect(matchesPattern(but, { detail: { provider: 'a' } })).toBe(false);
    expect(matchesPattern(but, { detail: {} })).toBe(false);
    expect(matchesPattern(but, { detail: { provider: ['a', 'c'] } })).toBe(true);
    expect(
      matchesPattern({ detail: { provider: [{ 'anything-but': 'a' }] } }, { detail: { provider: 'b' } }),
    ).toBe(true);
    const either = { $or: [{ source: ['x'] }, { detail: { provider: [{ exists: false }] } }] };
    expect(matchesPattern(either, { source: 'x', detail: { provider: 'a' } })).toBe(true);
    expect(matchesPattern(either, { source: 'y', detail: {} })).toBe(true);
    expect(matchesPattern(either, { source: 'y', detail: { provider: 'a' } })).toBe(false);
  });
});

describe('the catch-all rules of the request bus', () => {
  const KNOWN = Object.keys(FUNCTIONS);
  const QUEUE_ARN = { 'Fn::GetAtt': ['FailedRequestsQueue', 'Arn'] };
  /** The bus's rules whose pattern matches the event, by logical id. */
  const matching = (event: unknown) =>
    busRules()
      .filter(([, r]) => matchesPattern(r.Properties.EventPattern, event))
      .map(([id]) => id);
  const rule = (id: string) => resources[id] as Resource;
  /** The handlers whose rule matches the event. */
  const routed = (event: unknown) =>
    requestRules()
      .filter(([, r]) => matchesPattern(r.Properties.EventPattern, event))
      .map(([, r]) => r.Properties.Targets[0].Arn['Fn::GetAtt'][0]);

  it("are generated from the providers' list: it names the registry's providers, no more and no fewer", async () => {
    const { PROVIDERS } = await import('../../lib/providers/registry.ts');
    expect(PROVIDERS.map((p) => p.id).sort()).toEqual([...KNOWN].sort());
    const pattern = rule('UnroutedRequestsUnknownProviderRule').Properties.EventPattern;
    expect(pattern.$or[0].detail.provider).toEqual([{ 'anything-but': KNOWN }]);
    expect(pattern.$or[1].detail.provider).toEqual([{ exists: false }]);
    expect(rule('UnroutedRequestsPasswordRule').Properties.EventPattern.detail).toEqual({
      provider: KNOWN,
      password: [{ exists: true }],
    });
  });

  it.each([
    ['a typo', 'otc-cs'],
    ['another case', 'OTC-CSS'],
    ['a provider this project does not have', 'aws-rds'],
    ['an empty string', ''],
    ['a number', 42],
    ['null', null],
  ])('send a request whose provider is %s to the dead-letter queue, and no handler', (_kind, provider) => {
    const event = requestEvent({
      provider,
      region: 'eu-de',
      clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    });
    expect(routed(event)).toEqual([]);
    expect(matching(event)).toEqual(['UnroutedRequestsUnknownProviderRule']);
  });

  it('send a request without a provider, or whose provider is an object, to the dead-letter queue', () => {
    for (const detail of [
      { region: 'eu-de', clusterId: '1' },
      { provider: { id: 'otc-css' }, clusterId: '1' },
    ]) {
      expect(matching(requestEvent(detail))).toEqual(['UnroutedRequestsUnknownProviderRule']);
    }
  });

  it('send a request that carries a password to the dead-letter queue, and no handler', () => {
    for (const provider of KNOWN) {
      const event = requestEvent({ provider, region: 'eu-de', clusterId: '1', password: 'Plain-text1!' });
      expect(matching(event)).toEqual(['UnroutedRequestsPasswordRule']);
    }
  });

  it('leave every request a handler takes to that handler alone', () => {
    for (const provider of KNOWN) {
      expect(matching(requestEvent({ provider, region: 'eu-de', clusterId: '1' }))).toHaveLength(1);
      expect(catchAllRules().some(([id]) => matching(requestEvent({ provider })).includes(id))).toBe(false);
    }
  });

  it("with the handlers' rules, take every request event exactly once (no request lost, none twice)", () => {
    const provider = fc.oneof(
      fc.constantFrom(...KNOWN),
      fc.string(),
      fc.constantFrom(...KNOWN).map((p) => p.toUpperCase()),
      fc.constantFrom(...KNOWN).map((p) => `${p} `),
      fc.constant(null),
      fc.integer(),
    );
    const detail = fc.record(
      {
        provider,
        region: fc.string(),
        clusterId: fc.string(),
        password: fc.oneof(fc.string(), fc.constant(null)),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(detail, (d) => {
        expect(matching(requestEvent(d))).toHaveLength(1);
      }),
    );
    // Other events of the bus are no requests: no rule of the bus takes them.
    expect(matching({ ...requestEvent({ provider: 'otc-cs' }), 'detail-type': 'Something Else' })).toEqual(
      [],
    );
    expect(matching({ ...requestEvent({ provider: 'otc-cs' }), source: 'someone-else' })).toEqual([]);
  });

  it.each([
    [
      'UnroutedRequestsUnknownProviderRule',
      'cluster-password-reset-ci-unknown-provider',
      'detail.provider is not one of',
    ],
    ['UnroutedRequestsPasswordRule', 'cluster-password-reset-ci-password-in-request', 'carries a password'],
  ])("%s: a message with the reason and the request's target, never its password", (id, name, reason) => {
    const { Properties } = rule(id);
    expect(Properties.Name).toBe(name);
    expect(Properties.EventBusName).toEqual({ 'Fn::GetAtt': ['RequestBus', 'Name'] });
    expect(Properties.Targets).toHaveLength(1);
    const [target] = Properties.Targets;
    expect(target.Arn).toEqual(QUEUE_ARN);
    const { InputPathsMap, InputTemplate } = target.InputTransformer;
    expect(Object.values(InputPathsMap).sort()).toEqual(
      ['$.id', '$.time', '$.account', '$.detail.provider', '$.detail.region', '$.detail.clusterId'].sort(),
    );
    // What EventBridge sends: each <variable> replaced by the value at its path.
    const event = requestEvent({
      provider: 'otc-cs',
      region: 'eu-de',
      clusterId: 'c-1',
      password: 'Plain-text1!',
    });
    const message = JSON.parse(transformInput({ InputPathsMap, InputTemplate }, event, { name }));
    expect(message).toEqual({
      reason: expect.stringContaining(reason),
      rule: name,
      eventId: 'e1',
      time: '2026-11-23T10:00:00Z',
      senderAccount: '123456789012',
      provider: 'otc-cs',
      region: 'eu-de',
      clusterId: 'c-1',
    });
    expect(JSON.stringify(message)).not.toContain('Plain-text1!');
  });

  it('may send to the queue, as EventBridge, for these two rules alone, and use its key for them alone', () => {
    const statements = resources.FailedRequestsQueuePolicy?.Properties.PolicyDocument.Statement as any[];
    const fromEvents = statements.filter((st) =>
      JSON.stringify(st.Principal).includes('events.amazonaws.com'),
    );
    expect(fromEvents).toEqual([
      {
        Sid: 'UnroutedRequests',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: QUEUE_ARN,
        Condition: {
          ArnEquals: {
            'aws:SourceArn': [
              { 'Fn::GetAtt': ['UnroutedRequestsUnknownProviderRule', 'Arn'] },
              { 'Fn::GetAtt': ['UnroutedRequestsPasswordRule', 'Arn'] },
            ],
          },
        },
      },
    ]);
    // The queue's key (the stack's own, without secretsKmsKeyArn) names the same rules by their ARNs.
    const key = resources.FailedRequestsKey?.Properties.KeyPolicy.Statement as any[];
    const forEvents = key.filter((st) => JSON.stringify(st.Principal).includes('events.amazonaws.com'));
    expect(forEvents).toHaveLength(1);
    expect(forEvents[0].Action).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    expect(forEvents[0].Condition.ArnEquals['aws:SourceArn']).toEqual(
      catchAllRules().map(([, r]) => ({
        'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${BUS}/${r.Properties.Name}`,
      })),
    );
  });
});

describe('the fleet state machine', () => {
  const machine = () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    return machines[0]?.[1] as Resource;
  };
  /** The definition, with the Fn::Sub placeholders (function ARNs) left in its strings. */
  const definition = () => {
    const body = machine().Properties.DefinitionString;
    return JSON.parse(body['Fn::Sub'] ? body['Fn::Sub'][0] : body) as Record<string, any>;
  };

  /** What a `${placeholder}` of the definition stands for (serverless-step-functions' Fn::Sub). */
  const placeholder = (value: string) => {
    const body = machine().Properties.DefinitionString;
    return body['Fn::Sub']?.[1]?.[value.slice(2, -1)];
  };
  const maps = () =>
    Object.entries(definition().States as Record<string, any>).filter(([, state]) => state.Type === 'Map');

  it('checks every target, then rotates, in Distributed Maps whose children are executions of their own', () => {
    const { States } = definition();
    const byName = Object.fromEntries(maps());
    expect(Object.keys(byName).sort()).toEqual(
      ['CheckCsv', 'CheckJsonLines', 'CheckTargets', 'RotateCsv', 'RotateJsonLines', 'RotateTargets'].sort(),
    );
    for (const [name, map] of maps()) {
      expect(map.ItemProcessor.ProcessorConfig, name).toEqual({
        Mode: 'DISTRIBUTED',
        ExecutionType: name.startsWith('Check') ? 'EXPRESS' : 'STANDARD',
      });
      // The results go to S3: a Map's output holds no per-cluster array that could pass 256 KB.
      expect(map.ResultWriter.Resource, name).toBe('arn:aws:states:::s3:putObject');
      expect(placeholder(map.ResultWriter.Parameters.Bucket), name).toEqual({ Ref: 'FleetBucket' });
    }
    // A check fails the execution at the first bad target, before any rotation starts.
    for (const [check, rotate] of [
      ['CheckTargets', 'RotateTargets'],
      ['CheckJsonLines', 'RotateJsonLines'],
      ['CheckCsv', 'RotateCsv'],
    ] as const) {
      expect(byName[check]).toMatchObject({ ToleratedFailureCount: 0, ResultPath: null, Next: rotate });
      expect(byName[rotate]).toMatchObject({ MaxConcurrency: 5, ToleratedFailurePercentage: 100 });
      expect(JSON.stringify(byName[check])).not.toContain('lambda');
    }
    expect(byName.CheckJsonLines.ItemReader).toEqual({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSONL' },
      Parameters: { Bucket: expect.any(String), 'Key.$': '$.inventory.key' },
    });
    expect(placeholder(byName.CheckJsonLines.ItemReader.Parameters.Bucket)).toEqual({ Ref: 'FleetBucket' });
    expect(byName.CheckCsv.ItemReader.ReaderConfig).toEqual({
      InputType: 'CSV',
      CSVHeaderLocation: 'FIRST_ROW',
    });
    expect(byName.CheckTargets.ItemsPath).toBe('$.targets');
    const inspect = byName.CheckTargets.ItemProcessor.States.InspectTargets;
    expect(inspect.Choices[0]).toEqual({
      Variable: '$.target.password',
      IsPresent: true,
      Next: 'PasswordNotAllowedCheckTargets',
    });
    expect(byName.CheckTargets.Catch).toEqual([
      { ErrorEquals: ['States.ExceedToleratedFailureThreshold'], ResultPath: null, Next: 'TargetRefused' },
    ]);
    // Step Functions wants every state name unique, the Maps' own states included.
    const names = (states: Record<string, any>): string[] =>
      Object.entries(states).flatMap(([name, state]) => [
        name,
        ...(state.ItemProcessor ? names(state.ItemProcessor.States) : []),
      ]);
    const all = names(States);
    expect(new Set(all).size).toBe(all.length);
    expect(States.Summarize.Resource).toBe('arn:aws:states:::aws-sdk:sfn:describeMapRun');
  });

  it("builds each Task's payload in one step: key < target < fleet-wide options < the execution as caller", () => {
    for (const [name, map] of maps().filter(([n]) => n.startsWith('Rotate'))) {
      expect(map.ItemSelector, name).toEqual({
        'target.$': '$$.Map.Item.Value',
        'fleet.$': '$.fleet',
        key: { 'idempotencyKey.$': "States.Format('{}-{}', $$.Execution.Name, $$.Map.Item.Index)" },
        caller: { 'caller.$': '$$.Execution.Id' },
      });
      const states = map.ItemProcessor.States as Record<string, any>;
      // One Choice, then the Task: no chain shapes the payload.
      expect(Object.values(states).filter((s) => s.Type === 'Choice' || s.Type === 'Pass')).toHaveLength(1);
      const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');
      const source = name.slice('Rotate'.length);
      expect(tasks.map(([task]) => task).sort()).toEqual(
        ['RotateHuaweicloudCss', 'RotateNcloudCdss', 'RotateOtcCss'].map((task) => `${task}${source}`),
      );
      for (const [, task] of tasks) {
        expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
        expect(Object.keys(task.Parameters).sort()).toEqual(['FunctionName', 'Payload.$']);
        expect(task.Parameters['Payload.$']).toBe(
          'States.JsonMerge(States.JsonMerge(States.JsonMerge($.key, $.target, false), $.fleet, false), $.caller, false)',
        );
      }
    }
  });

  it('logs errors only, without execution data, to a log group of its own', () => {
    expect(machine().Properties.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['FleetRotationLogGroup', 'Arn'] } } },
      ],
    });
  });

  it("runs under its own role, which only Step Functions may assume, for this account's state machine", () => {
    expect(machine().Properties.RoleArn).toEqual({ 'Fn::GetAtt': ['FleetRotationRole', 'Arn'] });
    expect(machine().Properties.StateMachineName).toBe(MACHINE);
    const role = resources.FleetRotationRole?.Properties ?? {};
    const machineArn = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${MACHINE}`;
    expect(role.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': [{ 'Fn::Sub': machineArn }, { 'Fn::Sub': `${machineArn}:*` }] },
          },
        },
      ],
    });
    expect(role.Policies[0]).toEqual({
      PolicyName: 'invoke-reset-functions',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['lambda:InvokeFunction'],
            Resource: Object.values(FUNCTIONS).map((fn) => ({ 'Fn::GetAtt': [fn, 'Arn'] })),
          },
        ],
      },
    });
    const execution = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:${MACHINE}/*`;
    const mapRun = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:mapRun:${MACHINE}/*`;
    expect(role.Policies[1]).toEqual({
      PolicyName: 'distributed-map',
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['states:StartExecution'], Resource: [{ 'Fn::Sub': machineArn }] },
          {
            Effect: 'Allow',
            Action: ['states:DescribeExecution', 'states:StopExecution'],
            Resource: [{ 'Fn::Sub': execution }],
          },
          { Effect: 'Allow', Action: ['states:DescribeMapRun'], Resource: [{ 'Fn::Sub': mapRun }] },
          {
            Effect: 'Allow',
            Action: ['s3:GetObject'],
            Resource: [{ 'Fn::Sub': '${FleetBucket.Arn}/inventory/*' }],
          },
          {
            Effect: 'Allow',
            Action: [
              's3:PutObject',
              's3:GetObject',
              's3:ListMultipartUploadParts',
              's3:AbortMultipartUpload',
            ],
            Resource: [{ 'Fn::Sub': '${FleetBucket.Arn}/results/*' }],
          },
        ],
      },
    });
    // Only the vended-log delivery actions, which take no narrower resource, reach "*".
    const wildcard = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement).filter(
      (st: any) => st.Resource === '*',
    );
    expect(wildcard.flatMap((st: any) => st.Action).every((a: string) => a.startsWith('logs:'))).toBe(true);
    expect(role.Policies).toHaveLength(3);
    // No role generated by serverless-step-functions beside it.
    const stateRoles = ofType('AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('states.'),
    );
    expect(stateRoles.map(([id]) => id)).toEqual(['FleetRotationRole']);
  });
});
