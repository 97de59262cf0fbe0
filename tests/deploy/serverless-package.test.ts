import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `serverless package` needs no AWS credentials and no network; the template it writes is what
// CloudFormation would deploy, so permissions and routes are asserted on it.

const run = promisify(execFile);
type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
let dir: string;
let template: { Resources: Resources; Conditions?: Record<string, unknown> };
/** The resources of another stage in the same account, as `serverless print` resolves them. */
let otherStage: { Resources: Resources; environment: Record<string, unknown> };
/** Stage `ci` with an alarm topic (`--param alarmTopicArn=…`), as `serverless print` resolves it. */
let withTopic: { Resources: Resources; Conditions?: Record<string, unknown> };
const ALARM_TOPIC = 'arn:aws:sns:eu-central-1:123456789012:ops-alarms';

/** Stage `ci`'s secret namespace: SECRET_PREFIX, and the root of every secret its roles reach. */
const SECRETS = 'cluster-password-reset/ci';
/** A stage whose name starts with `ci`: the namespaces must still be apart. */
const OTHER_STAGE = 'ci-2';

const resourcesOfType = (type: string) =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

const sub = (path: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:${path}` });
/** IAM's wildcards in a resource ARN: `*` any run of characters, `/` included; `?` one character. */
const grants = (patterns: string[], name: string) =>
  patterns.some((pattern) =>
    new RegExp(
      `^${pattern
        .split('')
        .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    ).test(name),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sls-package-'));
  const started = Date.now();
  const env = {
    ...process.env,
    ESBUILD_WORK_FOLDER: '.esbuild-package-test',
    SLS_TELEMETRY_DISABLED: '1',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
  };
  const [, printed, printedWithTopic] = await Promise.all([
    run('serverless', ['package', '--stage', 'ci', '--region', 'eu-central-1', '--package', dir], {
      env,
      timeout: 120_000,
    }),
    run(
      'serverless',
      [
        'print',
        '--stage',
        OTHER_STAGE,
        '--region',
        'eu-central-1',
        // A stage of its own: no alarm topic unless it says so (deploy/alarms.cjs).
        '--param',
        'alarmTopicOptOut=true',
        '--format',
        'json',
      ],
      { env, timeout: 120_000 },
    ),
    run(
      'serverless',
      [
        'print',
        '--stage',
        'ci',
        '--region',
        'eu-central-1',
        '--param',
        `alarmTopicArn=${ALARM_TOPIC}`,
        '--format',
        'json',
      ],
      { env, timeout: 120_000 },
    ),
  ]);
  const config = JSON.parse(printed.stdout);
  otherStage = { Resources: config.resources.Resources, environment: config.provider.environment };
  const configWithTopic = JSON.parse(printedWithTopic.stdout);
  withTopic = {
    Resources: configWithTopic.resources.Resources,
    Conditions: configWithTopic.resources.Conditions,
  };
  const sizes = [];
  for (const name of [
    'ncloudCdssResetCmakPassword',
    'otcCssResetAdminPassword',
    'huaweicloudCssResetAdminPassword',
  ]) {
    sizes.push(`${name} ${((await stat(join(dir, `${name}.zip`))).size / 1024).toFixed(0)} KiB`);
  }
  process.stdout.write(
    `serverless package: ${((Date.now() - started) / 1000).toFixed(1)} s; artifacts: ${sizes.join(', ')}\n`,
  );
  template = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
}, 120_000);

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the packaged CloudFormation template', () => {
  it.each([
    ['NcloudCdss', 'functions/ncloud-cdss-reset-cmak-password.handler'],
    ['OtcCss', 'functions/otc-css-reset-admin-password.handler'],
    ['HuaweicloudCss', 'functions/huaweicloud-css-reset-admin-password.handler'],
  ])('has the %s function on Node.js 22, arm64, with the configuration variables', (prefix, handler) => {
    const [, fn] = resourcesOfType('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix)) ?? [];
    expect(fn?.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: handler,
      Timeout: 29,
    });
    expect(fn?.Properties.Environment.Variables).toMatchObject({
      CREDENTIALS_PREFIX: '/cluster-password-reset/ci/credentials',
      SECRET_PREFIX: SECRETS,
      LOCK_TABLE: 'cluster-password-reset-ci-leases',
      NCLOUD_CDSS_SITE: 'public',
      NCLOUD_CDSS_RESET_API: 'resetMGMTPassword',
      NCLOUD_CDSS_ENDPOINT: '',
      // Empty: the published endpoints of each Huawei region.
      HUAWEICLOUD_CSS_ENDPOINT: '',
    });
  });

  it('exposes the route as POST with AWS_IAM authorization', () => {
    const methods = resourcesOfType('AWS::ApiGateway::Method').map(([, m]) => m.Properties);
    const resources = Object.fromEntries(
      resourcesOfType('AWS::ApiGateway::Resource').map(([id, r]) => [id, r.Properties]),
    );
    const pathOf = (resourceId: { Ref: string }): string => {
      const resource = resources[resourceId.Ref];
      if (!resource) return '';
      const parent = resource.ParentId?.Ref ? pathOf(resource.ParentId) : '';
      return `${parent}/${resource.PathPart}`;
    };
    const routes = methods.map((m) => `${m.HttpMethod} ${pathOf(m.ResourceId)} ${m.AuthorizationType}`);
    expect(routes.sort()).toEqual(
      [
        'POST /ncloud/cdss/{region}/clusters/{clusterId}/cmak-password AWS_IAM',
        'POST /otc/css/{region}/clusters/{clusterId}/admin-password AWS_IAM',
        'POST /huaweicloud/css/{region}/clusters/{clusterId}/admin-password AWS_IAM',
      ].sort(),
    );
    expect(methods.every((m) => m.AuthorizationType === 'AWS_IAM')).toBe(true);
  });

  const roleStatements = (logicalId: string, resources: Resources = template.Resources) =>
    resources[logicalId]?.Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    ) as Array<{ Action: string | string[]; Resource: unknown[]; Condition?: unknown }>;

  it('runs each function under its own role, and no function under a shared one', () => {
    const roles = Object.fromEntries(
      resourcesOfType('AWS::Lambda::Function').map(([id, fn]) => [id, fn.Properties.Role['Fn::GetAtt']?.[0]]),
    );
    expect(roles).toEqual({
      NcloudCdssResetCmakPasswordLambdaFunction: 'NcloudCdssResetRole',
      OtcCssResetAdminPasswordLambdaFunction: 'OtcCssResetRole',
      HuaweicloudCssResetAdminPasswordLambdaFunction: 'HuaweicloudCssResetRole',
    });
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it.each([
    ['NcloudCdssResetRole', 'ncloud', 'ncloud-cdss', 'ncloudCdssResetCmakPassword'],
    ['OtcCssResetRole', 'otc', 'otc-css', 'otcCssResetAdminPassword'],
    ['HuaweicloudCssResetRole', 'huaweicloud', 'huaweicloud-css', 'huaweicloudCssResetAdminPassword'],
  ])(
    "%s grants its provider's prefixes, the lease table, the history, the bus and the queue, and nothing else",
    (roleId, folder, provider, fn) => {
      const statements = roleStatements(roleId);
      const actions = statements.flatMap((s) => [s.Action].flat()).sort();
      expect(actions).toEqual(
        [
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'ssm:GetParameters',
          'secretsmanager:DescribeSecret',
          'secretsmanager:CreateSecret',
          'secretsmanager:TagResource',
          'secretsmanager:GetSecretValue',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
          'secretsmanager:ListSecretVersionIds',
          // SecureStrings through SSM; secrets through Secrets Manager; the queue through SQS.
          'kms:Decrypt',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          // The rotation history: adding its provider's entries, nothing else.
          'dynamodb:PutItem',
          'events:PutEvents',
          'sqs:SendMessage',
        ].sort(),
      );
      const resourcesOf = (action: string) =>
        statements.find((s) => [s.Action].flat().includes(action))?.Resource;
      expect(resourcesOf('logs:PutLogEvents')).toEqual([
        sub(
          `logs:\${AWS::Region}:\${AWS::AccountId}:log-group:/aws/lambda/cluster-password-reset-ci-${fn}:*`,
        ),
      ]);
      expect(resourcesOf('ssm:GetParameters')).toEqual([
        sub(
          `ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/cluster-password-reset/ci/credentials/${folder}/*`,
        ),
      ]);
      expect(resourcesOf('secretsmanager:PutSecretValue')).toEqual([
        sub(`secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SECRETS}/${provider}/*`),
      ]);
      // Native rotation reads the versions of the provider's secrets, in the same statement.
      expect(statements.find((s) => [s.Action].flat().includes('secretsmanager:ListSecretVersionIds'))).toBe(
        statements.find((s) => [s.Action].flat().includes('secretsmanager:PutSecretValue')),
      );
      expect(resourcesOf('dynamodb:PutItem')).toEqual([{ 'Fn::GetAtt': ['LeaseTable', 'Arn'] }]);
      const history = statements.filter((s) => JSON.stringify(s.Resource).includes('HistoryTable'));
      expect(history).toEqual([
        {
          Effect: 'Allow',
          Action: 'dynamodb:PutItem',
          Resource: [{ 'Fn::GetAtt': ['HistoryTable', 'Arn'] }],
          Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`cluster#${provider}#*`] } },
        },
      ]);
      // Secrets: the provider's subtree for the rotation, and the fingerprint key read only.
      expect(
        statements
          .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'))
          .map((s) => s.Resource),
      ).toEqual([
        [sub(`secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SECRETS}/${provider}/*`)],
        [{ Ref: 'FingerprintKey' }],
      ]);
      expect(resourcesOf('events:PutEvents')).toEqual([
        sub('events:${AWS::Region}:${AWS::AccountId}:event-bus/default'),
      ]);
      expect(resourcesOf('sqs:SendMessage')).toEqual([{ 'Fn::GetAtt': ['FailedRequestsQueue', 'Arn'] }]);
      // KMS only as used through SSM and Secrets Manager.
      for (const statement of statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')))) {
        expect(JSON.stringify(statement.Condition)).toContain('kms:ViaService');
      }
      // No statement names every resource.
      expect(statements.filter((s) => [s.Resource].flat().some((r) => r === '*'))).toEqual([]);
    },
  );

  /** The name patterns of the secrets a role may use, as written after `secret:` in its ARNs. */
  const secretPatterns = (roleId: string, resources: Resources) => {
    const granted = roleStatements(roleId, resources)
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')))
      .flatMap((s) => s.Resource);
    // Besides named patterns, only the stack's own fingerprint key, whose name carries the stage.
    expect(granted.filter((r) => !JSON.stringify(r).includes(':secret:'))).toEqual([
      { Ref: 'FingerprintKey' },
    ]);
    return granted
      .map((r) => (r as { 'Fn::Sub'?: string })['Fn::Sub'])
      .filter((arn) => arn?.includes(':secret:'))
      .map((arn) => (arn as string).slice((arn as string).indexOf(':secret:') + ':secret:'.length));
  };
  /** Secrets Manager names of a stage's secrets, with the random suffix of their ARNs. */
  const secretsOf = (prefix: string) => [
    `${prefix}/ncloud-cdss/KR/1009123-AbCdEf`,
    `${prefix}/otc-css/eu-de/4f3deec3-efa8-4598-bf91-560aad1377a3-AbCdEf`,
    `${prefix}/huaweicloud-css/ap-southeast-1/4f3deec3-efa8-4598-bf91-560aad1377a3-AbCdEf`,
  ];

  it.each([
    ['NcloudCdssResetRole', 'ncloud-cdss'],
    ['OtcCssResetRole', 'otc-css'],
    ['HuaweicloudCssResetRole', 'huaweicloud-css'],
  ])("keeps %s to its own stage's secrets, and another stage's role out of them", (roleId, provider) => {
    const [, fn] = resourcesOfType('AWS::Lambda::Function')[0] ?? [];
    const prefix = fn?.Properties.Environment.Variables.SECRET_PREFIX as string;
    const otherPrefix = otherStage.environment.SECRET_PREFIX as string;
    const mine = secretPatterns(roleId, template.Resources);
    const theirs = secretPatterns(roleId, otherStage.Resources);
    expect(grants(mine, `${prefix}/${provider}/KR/1-AbCdEf`)).toBe(true);
    for (const name of secretsOf(otherPrefix)) expect(grants(mine, name), name).toBe(false);
    for (const name of secretsOf(prefix)) expect(grants(theirs, name), name).toBe(false);
    // Nor the names without a stage, which a stage keeps only by overriding the prefix.
    for (const name of secretsOf('cluster-password-reset')) expect(grants(mine, name), name).toBe(false);
    expect([prefix, otherPrefix]).toEqual([SECRETS, `cluster-password-reset/${OTHER_STAGE}`]);
    expect(mine.every((pattern) => pattern.startsWith(`${SECRETS}/`))).toBe(true);
    expect(theirs.every((pattern) => pattern.startsWith(`${otherPrefix}/`))).toBe(true);
    expect(template.Resources.FingerprintKey?.Properties.Name).toBe(
      'cluster-password-reset-ci-fingerprint-key',
    );
    expect(otherStage.Resources.FingerprintKey?.Properties.Name).toBe(
      `cluster-password-reset-${OTHER_STAGE}-fingerprint-key`,
    );
  });

  it('makes the lease outlive the function, and creates the fingerprint key the functions are given', () => {
    for (const [, fn] of resourcesOfType('AWS::Lambda::Function').filter(([id]) => !id.includes('Custom'))) {
      const variables = fn.Properties.Environment.Variables;
      expect(Number(variables.LEASE_SECONDS)).toBeGreaterThan(fn.Properties.Timeout);
      expect(variables.FUNCTION_TIMEOUT_SECONDS).toBe(String(fn.Properties.Timeout));
      expect(variables.FINGERPRINT_KEY_SECRET).toEqual({ Ref: 'FingerprintKey' });
    }
    expect(template.Resources.FingerprintKey).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
  });

  it("keeps the audit trail and the keys when the stack is deleted: every log group (with a retention), the fingerprint key, the queue's key", () => {
    const logGroups = resourcesOfType('AWS::Logs::LogGroup');
    // One per function and the API's access log, at least (the state machine's when it logs).
    expect(logGroups.length).toBeGreaterThanOrEqual(4);
    for (const [id, group] of logGroups) {
      expect(group, id).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { RetentionInDays: 30 },
      });
    }
    for (const id of ['FingerprintKey', 'FailedRequestsKey']) {
      expect(template.Resources[id], id).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    }
  });

  it('creates the lease table with a TTL on expiresAt', () => {
    const [, table] = resourcesOfType('AWS::DynamoDB::Table')[0] ?? [];
    expect(table?.Properties).toMatchObject({
      TableName: 'cluster-password-reset-ci-leases',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });
});

describe('EventBridge rules, asynchronous invocation and the state machine', () => {
  const documentedEvent = (provider: string) => ({
    version: '0',
    id: 'e1',
    source: 'cluster-password-reset',
    'detail-type': 'Cluster Password Reset Requested',
    account: '123456789012',
    time: '2026-11-23T10:00:00Z',
    region: 'eu-central-1',
    resources: [],
    detail: { provider, region: 'KR', clusterId: '1009123' },
  });

  const ruleFor = (functionLogicalId: string) => {
    const rules = resourcesOfType('AWS::Events::Rule').filter(
      ([, r]) => r.Properties.Targets?.[0]?.Arn?.['Fn::GetAtt']?.[0] === functionLogicalId,
    );
    expect(rules).toHaveLength(1);
    return rules[0]?.[1].Properties as { EventPattern: Record<string, any>; EventBusName?: unknown };
  };

  it.each([
    ['NcloudCdssResetCmakPasswordLambdaFunction', 'ncloud-cdss', 'otc-css'],
    ['OtcCssResetAdminPasswordLambdaFunction', 'otc-css', 'huaweicloud-css'],
    ['HuaweicloudCssResetAdminPasswordLambdaFunction', 'huaweicloud-css', 'otc-css'],
  ])('routes the documented request event to %s and no other', async (fn, own, other) => {
    const { matchesPattern } = await import('../../sandbox/event-pattern.ts');
    const { EventPattern } = ruleFor(fn);
    expect(matchesPattern(EventPattern as never, documentedEvent(own))).toBe(true);
    expect(matchesPattern(EventPattern as never, documentedEvent(other))).toBe(false);
    expect(matchesPattern(EventPattern as never, { ...documentedEvent(own), source: 'someone-else' })).toBe(
      false,
    );
    const outcome = { ...documentedEvent(own), 'detail-type': 'Cluster Password Reset Succeeded' };
    expect(matchesPattern(EventPattern as never, outcome)).toBe(false);
  });

  it('retries asynchronous invocations twice, then keeps the request in the dead-letter queue', () => {
    const configs = resourcesOfType('AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
    expect(configs).toHaveLength(3);
    for (const config of configs) {
      expect(config).toMatchObject({
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: 3600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailedRequestsQueue', 'Arn'] } } },
      });
    }
    const [, queue] = resourcesOfType('AWS::SQS::Queue')[0] ?? [];
    // Encrypted with the stack's KMS key (tests/deploy/hardening.test.ts has the details).
    expect(queue?.Properties).toMatchObject({
      MessageRetentionPeriod: 1209600,
      KmsMasterKeyId: { 'Fn::GetAtt': ['FailedRequestsKey', 'Arn'] },
    });
  });

  it.each([
    ['NcloudCdssResetCmakPasswordLambdaFunction'],
    ['OtcCssResetAdminPasswordLambdaFunction'],
    ['HuaweicloudCssResetAdminPasswordLambdaFunction'],
  ])(
    "lets Secrets Manager of this account alone invoke %s as a rotation function, for its provider's secrets of this stage",
    (fn) => {
      const permissions = resourcesOfType('AWS::Lambda::Permission').filter(
        ([, p]) => p.Properties.Principal === 'secretsmanager.amazonaws.com',
      );
      const mine = permissions.filter(([, p]) => p.Properties.FunctionName?.['Fn::GetAtt']?.[0] === fn);
      expect(mine).toHaveLength(1);
      const provider = { NcloudCdss: 'ncloud-cdss', OtcCss: 'otc-css', HuaweicloudCss: 'huaweicloud-css' }[
        fn.replace(/Reset.*$/, '')
      ];
      expect(mine[0]?.[1].Properties).toEqual({
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
        Principal: 'secretsmanager.amazonaws.com',
        SourceAccount: { Ref: 'AWS::AccountId' },
        // Lambda matches SourceArn with ArnLike: the trailing * takes the name's random suffix.
        SourceArn: sub(`secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SECRETS}/${provider}/*`),
      });
      expect(permissions).toHaveLength(3);
      // The same pattern as the role's own reach into the secrets: its provider's, of this stage.
      const pattern = mine[0]?.[1].Properties.SourceArn['Fn::Sub'] as string;
      const name = pattern.slice(pattern.indexOf(':secret:') + ':secret:'.length);
      expect(grants([name], `${SECRETS}/${provider}/KR/1-AbCdEf`)).toBe(true);
      for (const other of [
        `${SECRETS}/${provider === 'otc-css' ? 'huaweicloud-css' : 'otc-css'}/eu-de/1-AbCdEf`,
        `cluster-password-reset/${OTHER_STAGE}/${provider}/KR/1-AbCdEf`,
        `cluster-password-reset/${provider}/KR/1-AbCdEf`,
      ]) {
        expect(grants([name], other), other).toBe(false);
      }
    },
  );

  it("deploys the stage's rotation schedules, after the handler's Secrets Manager permission", () => {
    // Stage `ci` lists one (serverless.yml params.ci.rotationSchedules).
    const schedules = resourcesOfType('AWS::SecretsManager::RotationSchedule');
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0] as [string, { DependsOn?: string[]; Properties: Record<string, any> }];
    expect(schedule.Properties).toEqual({
      SecretId: `${SECRETS}/otc-css/eu-de/4f3deec3-efa8-4598-bf91-560aad1377a3`,
      RotationLambdaARN: { 'Fn::GetAtt': ['OtcCssResetAdminPasswordLambdaFunction', 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)', Duration: '3h' },
      RotateImmediatelyOnUpdate: false,
    });
    expect(schedule.DependsOn).toEqual(['OtcCssResetAdminPasswordSecretsManagerPermission']);
    expect(template.Resources.OtcCssResetAdminPasswordSecretsManagerPermission?.Type).toBe(
      'AWS::Lambda::Permission',
    );
    expect(template.Resources.OtcCssResetAdminPasswordLambdaFunction?.Type).toBe('AWS::Lambda::Function');
  });

  it('deploys no schedule when the stage lists none', () => {
    expect(Object.keys(template.Resources).filter((id) => id.startsWith('ScheduledRotation'))).toEqual([]);
  });

  it('lets the state machine invoke only the three handlers', () => {
    const roles = resourcesOfType('AWS::IAM::Role').filter(([, r]) =>
      JSON.stringify(r.Properties.AssumeRolePolicyDocument).includes('states.'),
    );
    expect(roles).toHaveLength(1);
    const statements = roles[0]?.[1].Properties.Policies.flatMap(
      (p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement,
    );
    // The other statements are the Distributed Map's and the error log's (tests/deploy/events.test.ts).
    const invokes = statements.filter((st: { Action: string[] }) =>
      st.Action.some((action) => action.startsWith('lambda:')),
    );
    expect(invokes).toHaveLength(1);
    expect(statements[0].Action).toEqual(['lambda:InvokeFunction']);
    const targets = JSON.stringify(statements[0].Resource);
    expect(targets).toContain('NcloudCdssResetCmakPasswordLambdaFunction');
    expect(targets).toContain('OtcCssResetAdminPasswordLambdaFunction');
    expect(targets).toContain('HuaweicloudCssResetAdminPasswordLambdaFunction');
    expect(statements[0].Resource.every((r: unknown) => JSON.stringify(r).includes('LambdaFunction'))).toBe(
      true,
    );
  });
});

describe('CloudWatch alarms', () => {
  const alarms = () => Object.fromEntries(resourcesOfType('AWS::CloudWatch::Alarm'));
  // Stage `ci` opts out of an alarm topic (serverless.yml): no actions at all.
  const common = {
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    Threshold: 1,
    EvaluationPeriods: 1,
    TreatMissingData: 'notBreaching',
  };
  const PROVIDER_ALARMS = [
    ['NcloudCdss', 'ncloud-cdss', 'NcloudCdssResetCmakPasswordLambdaFunction'],
    ['OtcCss', 'otc-css', 'OtcCssResetAdminPasswordLambdaFunction'],
    ['HuaweicloudCss', 'huaweicloud-css', 'HuaweicloudCssResetAdminPasswordLambdaFunction'],
  ] as const;
  /** The EMF dimensions of lib/middleware/metrics.ts: Powertools' service, then stage and provider. */
  const dimensionsOf = (provider: string) => [
    { Name: 'service', Value: 'cluster-password-reset' },
    { Name: 'stage', Value: 'ci' },
    { Name: 'provider', Value: provider },
  ];

  it('has, per provider, a failed-invocation, a failed-native-rotation and a function-errors alarm; the dead-letter queue one and the fleet one', () => {
    expect(Object.keys(alarms()).sort()).toEqual(
      [
        ...PROVIDER_ALARMS.flatMap(([id]) => [
          `${id}RotationFailedAlarm`,
          `${id}NativeRotationFailedAlarm`,
          `${id}FunctionErrorsAlarm`,
        ]),
        'FailedRequestsAlarm',
        'FleetRotationFailedAlarm',
      ].sort(),
    );
  });

  it.each(PROVIDER_ALARMS)(
    '%s: RotationFailed as its function emits it, every failure and the native rotations apart',
    (id, provider, fn) => {
      expect(alarms()[`${id}RotationFailedAlarm`]?.Properties).toEqual({
        ...common,
        AlarmName: `cluster-password-reset-ci-${provider}-rotation-failed`,
        AlarmDescription: expect.stringContaining(provider),
        Namespace: 'ClusterPasswordReset',
        MetricName: 'RotationFailed',
        Dimensions: dimensionsOf(provider),
        Statistic: 'Sum',
        Period: 300,
      });
      expect(alarms()[`${id}NativeRotationFailedAlarm`]?.Properties).toEqual({
        ...common,
        AlarmName: `cluster-password-reset-ci-${provider}-native-rotation-failed`,
        AlarmDescription: expect.stringContaining('Secrets Manager rotation'),
        Namespace: 'ClusterPasswordReset',
        MetricName: 'RotationFailed',
        // The document metrics.ts emits with the invocation mode; `rotation` is Secrets Manager's.
        Dimensions: [...dimensionsOf(provider), { Name: 'invocation', Value: 'rotation' }],
        Statistic: 'Sum',
        Period: 300,
      });
      // The function's environment names the same namespace, service and stage.
      expect(template.Resources[fn]?.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: 'ClusterPasswordReset',
        POWERTOOLS_SERVICE_NAME: 'cluster-password-reset',
        STAGE: 'ci',
      });
    },
  );

  it.each(PROVIDER_ALARMS)("%s: the function's own Lambda Errors", (id, provider, fn) => {
    expect(alarms()[`${id}FunctionErrorsAlarm`]?.Properties).toEqual({
      ...common,
      AlarmName: `cluster-password-reset-ci-${provider}-function-errors`,
      AlarmDescription: expect.stringContaining('Errors'),
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      // Ref of a function is its name, Lambda's FunctionName dimension.
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Statistic: 'Sum',
      Period: 300,
    });
    expect(template.Resources[fn]?.Type).toBe('AWS::Lambda::Function');
  });

  it('raises an alarm for any request in the dead-letter queue', () => {
    expect(alarms().FailedRequestsAlarm?.Properties).toEqual({
      ...common,
      AlarmName: 'cluster-password-reset-ci-failed-requests',
      AlarmDescription: expect.any(String),
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['FailedRequestsQueue', 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
    });
  });

  it('raises an alarm when a fleet execution fails or times out, on the packaged state machine', () => {
    const properties = alarms().FleetRotationFailedAlarm?.Properties ?? {};
    expect(properties).toMatchObject({
      ...common,
      AlarmName: 'cluster-password-reset-ci-fleet-rotation-failed',
    });
    const metrics = properties.Metrics as Array<Record<string, any>>;
    const stats = metrics.filter((m) => m.MetricStat);
    expect(stats.map((m) => m.MetricStat.Metric.MetricName)).toEqual([
      'ExecutionsFailed',
      'ExecutionsTimedOut',
    ]);
    for (const m of stats) {
      expect(m.ReturnData).toBe(false);
      expect(m.MetricStat).toMatchObject({ Period: 300, Stat: 'Sum', Metric: { Namespace: 'AWS/States' } });
      const [dimension] = m.MetricStat.Metric.Dimensions;
      expect(dimension.Name).toBe('StateMachineArn');
      // A Ref to the state machine serverless-step-functions made (its Ref is the ARN).
      const machine = template.Resources[dimension.Value.Ref];
      expect(machine?.Type).toBe('AWS::StepFunctions::StateMachine');
      expect(machine?.Properties.StateMachineName).toBe('cluster-password-reset-ci-fleet-rotation');
    }
    expect(metrics.filter((m) => m.ReturnData)).toEqual([
      expect.objectContaining({ Expression: 'FILL(failed, 0) + FILL(timedOut, 0)' }),
    ]);
  });

  it('keeps fleet inventories and results in a bucket encrypted, TLS-only, never public and retained', () => {
    const bucket = template.Resources.FleetBucket as unknown as Record<string, any>;
    expect(bucket.Type).toBe('AWS::S3::Bucket');
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(
      bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
    ).toEqual({
      SSEAlgorithm: 'AES256',
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    const policy = template.Resources.FleetBucketPolicy?.Properties ?? {};
    expect(policy.Bucket).toEqual({ Ref: 'FleetBucket' });
    expect(policy.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    // The fleet machine is a Distributed Map: its Rotate maps bounded by fleetConcurrency.
    const [machine] = resourcesOfType('AWS::StepFunctions::StateMachine');
    const body = machine?.[1].Properties.DefinitionString;
    const definition = JSON.parse(body['Fn::Sub'] ? body['Fn::Sub'][0] : body);
    expect(definition.States.RotateJsonLines.ItemProcessor.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    expect(definition.States.RotateJsonLines.MaxConcurrency).toBe(5);
  });

  it("has no actions in a stage that opted out of a topic, and notifies the stage's alarmTopicArn when one is set", () => {
    const mine = Object.values(alarms());
    expect(mine).toHaveLength(11);
    for (const alarm of mine) {
      expect(alarm.Properties).not.toHaveProperty('AlarmActions');
      expect(alarm.Properties).not.toHaveProperty('OKActions');
    }
    // No condition on an empty topic (cfn-lint's E3033 on its `['']` branch).
    expect(template.Conditions?.AlarmTopicGiven).toBeUndefined();
    expect(withTopic.Conditions?.AlarmTopicGiven).toBeUndefined();
    const topicAlarms = Object.entries(withTopic.Resources).filter(
      ([, r]) => r.Type === 'AWS::CloudWatch::Alarm',
    );
    expect(topicAlarms).toHaveLength(11);
    for (const [, alarm] of topicAlarms) {
      expect(alarm.Properties.AlarmActions).toEqual([ALARM_TOPIC]);
      expect(alarm.Properties.OKActions).toEqual([ALARM_TOPIC]);
    }
  });
});
