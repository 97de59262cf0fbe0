import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingKeyOf } from '../../lib/rotation/binding.ts';
import { leaseKeyOf } from '../../lib/rotation/lease.ts';
import { defaultSecretName } from '../../lib/rotation/secret-store.ts';
import { versionRecordKey } from '../../lib/rotation/version-record.ts';
import { packageStage } from './package-stage.ts';

// Production hardening (issue 15), asserted on what `serverless package` writes: the CloudFormation
// template and the resolved service (its stack tags, which the deploy passes to CloudFormation).
// Stage `ci` is packaged twice: with the default parameters, and with every optional one set.

type Resources = Record<string, { Type: string; Properties: Record<string, any>; [key: string]: any }>;
interface Packaged {
  Resources: Resources;
  stackTags: Record<string, string>;
}
let base: Packaged;
let hardened: Packaged;
const removals: Array<() => Promise<void>> = [];

const KEY_ARN = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const VPCE_POLICY = [
  {
    Effect: 'Allow',
    Principal: '*',
    Action: 'execute-api:Invoke',
    Resource: 'execute-api:/*',
    Condition: { StringEquals: { 'aws:SourceVpce': 'vpce-0123456789abcdef0' } },
  },
];
const HARDENED_PARAMS = {
  secretsKmsKeyArn: KEY_ARN,
  apiEndpointType: 'PRIVATE',
  apiResourcePolicy: JSON.stringify(VPCE_POLICY),
  apiSecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
  apiEndpointAccessMode: 'STRICT',
  apiThrottleRate: '2',
  apiThrottleBurst: '5',
  reservedConcurrency: '0',
  stackTags: JSON.stringify({ 'cost-center': '1234' }),
};
const SECRETS = 'cluster-password-reset/ci';

const ROLES = [
  ['NcloudCdssResetRole', 'ncloud-cdss'],
  ['OtcCssResetRole', 'otc-css'],
  ['HuaweicloudCssResetRole', 'huaweicloud-css'],
] as const;
const FUNCTIONS = [
  'NcloudCdssResetCmakPasswordLambdaFunction',
  'OtcCssResetAdminPasswordLambdaFunction',
  'HuaweicloudCssResetAdminPasswordLambdaFunction',
];

const packageCi = async (params: Record<string, string>): Promise<Packaged> => {
  const packaged = await packageStage('ci', params);
  removals.push(packaged.remove);
  return { Resources: packaged.template.Resources, stackTags: packaged.state.service.provider.stackTags };
};

beforeAll(async () => {
  [base, hardened] = await Promise.all([packageCi({}), packageCi(HARDENED_PARAMS)]);
}, 120_000);

afterAll(() => Promise.all(removals.map((remove) => remove())));

const ofType = (packaged: Packaged, type: string) =>
  Object.entries(packaged.Resources).filter(([, resource]) => resource.Type === type);
const only = (packaged: Packaged, type: string) => {
  const found = ofType(packaged, type);
  expect(found, type).toHaveLength(1);
  return found[0] as [string, Resources[string]];
};
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}
const statementsOf = (packaged: Packaged, roleId: string): Statement[] =>
  packaged.Resources[roleId]?.Properties.Policies.flatMap(
    (policy: { PolicyDocument: { Statement: Statement[] } }) => policy.PolicyDocument.Statement,
  );
const actionsOf = (statement: Statement) => [statement.Action].flat();
const withAction = (statements: Statement[], action: string) =>
  statements.filter((statement) => actionsOf(statement).includes(action));
const viaService = (statement: Statement) =>
  JSON.stringify(statement.Condition?.StringEquals?.['kms:ViaService'] ?? null);
const sub = (path: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:${path}` });
const ANY_KEY = sub('kms:${AWS::Region}:${AWS::AccountId}:key/*');

/** IAM's StringLike: `*` any run of characters, `?` one. */
const like = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  ).test(value);

describe('API Gateway', () => {
  it('has one explicit stage on the packaged deployment, which no longer creates a stage itself', () => {
    for (const packaged of [base, hardened]) {
      const [deploymentId, deployment] = only(packaged, 'AWS::ApiGateway::Deployment');
      expect(deployment.Properties.StageName).toBeUndefined();
      const [stageId, stage] = only(packaged, 'AWS::ApiGateway::Stage');
      expect(stageId).toBe('ApiGatewayStage');
      expect(stage.Properties).toMatchObject({
        RestApiId: { Ref: 'ApiGatewayRestApi' },
        DeploymentId: { Ref: deploymentId },
        StageName: 'ci',
      });
    }
  });

  it('writes a JSON access log line per request, with the caller and the route and never a body, to a group with retention', () => {
    const [, stage] = only(base, 'AWS::ApiGateway::Stage');
    const { DestinationArn, Format } = stage.Properties.AccessLogSetting;
    expect(DestinationArn).toEqual({ 'Fn::GetAtt': ['ApiAccessLogGroup', 'Arn'] });
    expect(base.Resources.ApiAccessLogGroup).toEqual({
      Type: 'AWS::Logs::LogGroup',
      // Kept when the stack is deleted (deploy/retention.cjs), as every log group.
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { LogGroupName: '/aws/api-gateway/cluster-password-reset-ci-access', RetentionInDays: 30 },
    });
    const fields = JSON.parse(Format) as Record<string, string>;
    expect(fields).toMatchObject({
      userArn: '$context.identity.userArn',
      resourcePath: '$context.resourcePath',
      httpMethod: '$context.httpMethod',
      status: '$context.status',
      requestId: '$context.requestId',
    });
    // Only context variables: no request or response body, no header, no query string.
    for (const value of Object.values(fields)) {
      expect(value).toMatch(/^\$context\.[A-Za-z.]+$/);
      expect(value).not.toMatch(/body|header|querystring|input/i);
    }
    // The route's template, not the path with its ids.
    expect(Object.values(fields)).not.toContain('$context.path');
  });

  it('writes no execution logs (they would hold bodies)', () => {
    const [, stage] = only(base, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        ResourcePath: '/*',
        HttpMethod: '*',
        LoggingLevel: 'OFF',
        DataTraceEnabled: false,
      }),
    ]);
  });

  it('throttles the stage for every route, by the stage parameters', () => {
    const settings = (packaged: Packaged) =>
      only(packaged, 'AWS::ApiGateway::Stage')[1].Properties.MethodSettings[0];
    expect(settings(base)).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(settings(hardened)).toMatchObject({ ThrottlingRateLimit: 2, ThrottlingBurstLimit: 5 });
  });

  it('is REGIONAL without a resource policy by default, PRIVATE with the given one by parameter', () => {
    const api = (packaged: Packaged) => packaged.Resources.ApiGatewayRestApi?.Properties ?? {};
    expect(api(base).EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
    expect(api(base).Policy).toBe('');
    expect(api(hardened).EndpointConfiguration).toEqual({ Types: ['PRIVATE'] });
    expect(api(hardened).Policy).toEqual({
      Version: '2012-10-17',
      // The framework writes each Action as a list.
      Statement: VPCE_POLICY.map((statement) => ({ ...statement, Action: [statement.Action] })),
    });
  });

  it('accepts TLS 1.2 at least on its execute-api endpoint (an enhanced security policy)', () => {
    const api = (packaged: Packaged) => packaged.Resources.ApiGatewayRestApi?.Properties ?? {};
    expect(api(base)).toMatchObject({
      SecurityPolicy: 'SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09',
      EndpointAccessMode: 'BASIC',
    });
    expect(api(hardened)).toMatchObject({
      SecurityPolicy: 'SecurityPolicy_TLS13_1_3_2025_09',
      EndpointAccessMode: 'STRICT',
    });
  });
});

describe('Lambda', () => {
  it('reserves the stage parameter reservedConcurrency for each function, 0 included (the kill switch)', () => {
    for (const fn of FUNCTIONS) {
      expect(base.Resources[fn]?.Properties.ReservedConcurrentExecutions, fn).toBe(10);
      expect(hardened.Resources[fn]?.Properties.ReservedConcurrentExecutions, fn).toBe(0);
    }
  });

  it.each(ROLES)('lets Lambda assume %s only on behalf of this account', (roleId) => {
    for (const packaged of [base, hardened]) {
      expect(packaged.Resources[roleId]?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        },
      ]);
    }
  });
});

describe('data', () => {
  it('protects the lease table and the rotation history from deletion and replacement', () => {
    const tables = ofType(base, 'AWS::DynamoDB::Table');
    expect(tables.map(([id]) => id).sort()).toEqual(['HistoryTable', 'LeaseTable']);
    for (const [, table] of tables) {
      expect(table).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          DeletionProtectionEnabled: true,
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        },
      });
    }
  });

  it('encrypts the dead-letter queue with a rotating key the stack creates, administered by the account', () => {
    const [, queue] = only(base, 'AWS::SQS::Queue');
    expect(queue.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': ['FailedRequestsKey', 'Arn'] });
    expect(queue.Properties.SqsManagedSseEnabled).toBeUndefined();
    const [keyId, key] = only(base, 'AWS::KMS::Key');
    expect(keyId).toBe('FailedRequestsKey');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    // Kept when the stack is deleted or the key replaced.
    expect(key).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(key.Properties.KeyPolicy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { AWS: sub('iam::${AWS::AccountId}:root') },
        Action: 'kms:*',
      }),
      // The request bus's catch-all rules (tests/deploy/events.test.ts), by their ARNs alone.
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Condition: { ArnEquals: { 'aws:SourceArn': expect.any(Array) } },
      }),
    ]);
  });

  it('encrypts the dead-letter queue with the stage key of the secrets when one is given, and creates none', () => {
    const [, queue] = only(hardened, 'AWS::SQS::Queue');
    expect(queue.Properties.KmsMasterKeyId).toBe(KEY_ARN);
    expect(ofType(hardened, 'AWS::KMS::Key')).toEqual([]);
  });

  it('denies every access to the dead-letter queue without TLS', () => {
    for (const packaged of [base, hardened]) {
      const [, policy] = only(packaged, 'AWS::SQS::QueuePolicy');
      expect(policy.Properties.Queues).toEqual([{ Ref: 'FailedRequestsQueue' }]);
      expect(policy.Properties.PolicyDocument.Statement).toEqual([
        {
          Sid: 'DenyInsecureTransport',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:*',
          Resource: { 'Fn::GetAtt': ['FailedRequestsQueue', 'Arn'] },
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        // The request bus's catch-all rules may send (tests/deploy/events.test.ts).
        expect.objectContaining({ Sid: 'UnroutedRequests', Principal: { Service: 'events.amazonaws.com' } }),
      ]);
    }
  });

  it('gives the functions the stage key of the secrets (empty without one), and uses it for the fingerprint key', () => {
    for (const fn of FUNCTIONS) {
      expect(base.Resources[fn]?.Properties.Environment.Variables.SECRETS_KMS_KEY_ID, fn).toBe('');
      expect(hardened.Resources[fn]?.Properties.Environment.Variables.SECRETS_KMS_KEY_ID, fn).toBe(KEY_ARN);
    }
    expect(base.Resources.FingerprintKey?.Properties.KmsKeyId ?? { Ref: 'AWS::NoValue' }).toEqual({
      Ref: 'AWS::NoValue',
    });
    expect(hardened.Resources.FingerprintKey?.Properties.KmsKeyId).toBe(KEY_ARN);
  });

  it('tags the stack with its service, stage and maker, and the stage parameter stackTags', () => {
    const own = { service: 'cluster-password-reset', stage: 'ci', 'managed-by': 'serverless' };
    expect(base.stackTags).toEqual(own);
    expect(hardened.stackTags).toEqual({ ...own, 'cost-center': '1234' });
  });
});

describe('KMS scoping of the roles', () => {
  it.each(ROLES)('%s decrypts SecureStrings through SSM only, as before', (roleId) => {
    for (const packaged of [base, hardened]) {
      const ssm = statementsOf(packaged, roleId).filter((s) => viaService(s).includes('ssm.'));
      expect(ssm).toEqual([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: [ANY_KEY],
          Condition: {
            StringEquals: { 'kms:ViaService': [{ 'Fn::Sub': 'ssm.${AWS::Region}.amazonaws.com' }] },
          },
        },
      ]);
    }
  });

  it.each(ROLES)(
    '%s uses keys through Secrets Manager: the given key alone, else the account keys',
    (roleId) => {
      const through = (packaged: Packaged) =>
        statementsOf(packaged, roleId).filter((s) => viaService(s).includes('secretsmanager.'));
      const expected = (resource: unknown) => [
        {
          Effect: 'Allow',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          Resource: [resource],
          Condition: {
            StringEquals: {
              'kms:ViaService': [{ 'Fn::Sub': 'secretsmanager.${AWS::Region}.amazonaws.com' }],
            },
          },
        },
      ];
      expect(through(base)).toEqual(expected(ANY_KEY));
      expect(through(hardened)).toEqual(expected(KEY_ARN));
      // With a key, no statement names any other key.
      const kms = statementsOf(hardened, roleId).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('kms:')),
      );
      expect(kms.filter((s) => JSON.stringify(s.Resource).includes('key/*'))).toHaveLength(1);
      expect(kms.filter((s) => JSON.stringify(s.Resource).includes('key/*'))[0]).toMatchObject({
        Action: 'kms:Decrypt',
      });
    },
  );

  it.each(ROLES)("%s may encrypt for the dead-letter queue's key, through SQS only", (roleId) => {
    const through = (packaged: Packaged) =>
      statementsOf(packaged, roleId).filter((s) => viaService(s).includes('sqs.'));
    const expected = (resource: unknown) => [
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
        Resource: [resource],
        Condition: {
          StringEquals: { 'kms:ViaService': [{ 'Fn::Sub': 'sqs.${AWS::Region}.amazonaws.com' }] },
        },
      },
    ];
    expect(through(base)).toEqual(expected({ 'Fn::GetAtt': ['FailedRequestsKey', 'Arn'] }));
    expect(through(hardened)).toEqual(expected(KEY_ARN));
  });
});

describe('IAM conditions of the roles', () => {
  const TAG_KEYS = ['managed-by', 'provider', 'region', 'cluster-id', 'project-id', 'account'];
  const tagConditions = (provider: string) => ({
    StringEquals: {
      'aws:RequestTag/managed-by': 'cluster-password-reset',
      'aws:RequestTag/provider': provider,
    },
    'ForAllValues:StringEquals': { 'aws:TagKeys': TAG_KEYS },
  });
  const secretArn = (provider: string) =>
    sub(`secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:${SECRETS}/${provider}/*`);

  it.each(ROLES)(
    '%s tags a secret only as it creates it, with its identity tags and no others',
    (roleId, provider) => {
      const statements = statementsOf(base, roleId);
      expect(withAction(statements, 'secretsmanager:TagResource')).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:TagResource',
          Resource: [secretArn(provider)],
          // No identity tag yet: a secret being created (CreateSecret with Tags needs TagResource).
          Condition: {
            Null: { 'secretsmanager:ResourceTag/managed-by': 'true' },
            ...tagConditions(provider),
          },
        },
      ]);
      expect(withAction(statements, 'secretsmanager:CreateSecret')).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:CreateSecret',
          Resource: [secretArn(provider)],
          Condition: tagConditions(provider),
        },
      ]);
    },
  );

  it('lists the tag keys the secret store writes', async () => {
    const source = await readFile(new URL('../../lib/rotation/secret-store.ts', import.meta.url), 'utf8');
    const { identityTags, ACCOUNT_TAG, MANAGED_BY } = await import('../../lib/rotation/secret-store.ts');
    const written = Object.keys(
      identityTags({ provider: 'otc-css', region: 'eu-de', clusterId: 'c', projectId: 'p' }),
    );
    expect([...written, ACCOUNT_TAG].sort()).toEqual([...TAG_KEYS].sort());
    expect(MANAGED_BY).toEqual({ Key: 'managed-by', Value: 'cluster-password-reset' });
    expect(source).toContain('...identityTags(target), [ACCOUNT_TAG]: account');
  });

  it('knows every lease-table key prefix the code writes or reads', async () => {
    const folder = new URL('../../lib/rotation/', import.meta.url);
    const prefixes = new Set<string>();
    for (const file of await readdir(folder)) {
      const source = await readFile(new URL(file, folder), 'utf8');
      for (const match of source.matchAll(/`([a-z]+)#\$\{/g)) prefixes.add(match[1] as string);
    }
    expect([...prefixes].sort()).toEqual(['binding', 'key', 'lease', 'version']);
  });

  it.each(ROLES)("%s reaches only its provider's lease-table keys", (roleId, provider) => {
    const [dynamo] = withAction(statementsOf(base, roleId), 'dynamodb:PutItem');
    const patterns = dynamo?.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as string[];
    expect(patterns).toEqual([
      `lease#${provider}#*`,
      `key#${provider}#*`,
      `binding#${provider}#*`,
      `version#${SECRETS}/${provider}/*`,
    ]);
    // Every key its function uses (lib/rotation: leaseKeyOf, versionRecordKey, rotate.ts's key#…)…
    const keysOf = (p: string, prefix = SECRETS) => {
      const target = { provider: p as 'otc-css', region: 'eu-de', clusterId: '4f3deec3-efa8' };
      const secretName = defaultSecretName(prefix, target);
      return [
        leaseKeyOf(target),
        `key#${p}#evt-1`,
        bindingKeyOf(target),
        versionRecordKey(secretName, 'b7f2c1d0-0000-4000-8000-000000000000'),
        // A secret named in the request, or by Secrets Manager's rotation, under the provider's root.
        versionRecordKey(`${prefix}/${p}/eu-de/custom-name`, 'v1'),
      ];
    };
    for (const key of keysOf(provider))
      expect(
        patterns.some((p) => like(p, key)),
        key,
      ).toBe(true);
    // …and none of the other providers', nor of another stage.
    for (const [, other] of ROLES.filter(([, p]) => p !== provider)) {
      for (const key of keysOf(other))
        expect(
          patterns.some((p) => like(p, key)),
          key,
        ).toBe(false);
    }
    for (const key of keysOf(provider, 'cluster-password-reset/prod').slice(3)) {
      expect(
        patterns.some((p) => like(p, key)),
        key,
      ).toBe(false);
    }
  });

  it.each(ROLES)('%s puts only the outcome events', (roleId) => {
    const [put] = withAction(statementsOf(base, roleId), 'events:PutEvents');
    expect(put?.Condition).toEqual({
      StringEquals: {
        'events:source': 'cluster-password-reset',
        'events:detail-type': ['Cluster Password Reset Succeeded', 'Cluster Password Reset Failed'],
      },
    });
  });

  it('names the outcome events as the function publishes them', async () => {
    const source = await readFile(
      new URL('../../lib/middleware/publish-outcome.ts', import.meta.url),
      'utf8',
    );
    expect(source).toContain("'Cluster Password Reset Succeeded'");
    expect(source).toContain("'Cluster Password Reset Failed'");
    const { REQUEST_SOURCE } = await import('../../lib/middleware/normalize-event.ts');
    expect(REQUEST_SOURCE).toBe('cluster-password-reset');
  });
});

describe('stage parameters, checked at package time', () => {
  const hardening = createRequire(import.meta.url)('../../deploy/hardening.cjs') as Record<
    string,
    (options: { resolveVariable: (name: string) => Promise<unknown> }) => Promise<unknown>
  >;
  const DEFAULTS: Record<string, unknown> = {
    'param:apiEndpointType': 'REGIONAL',
    'param:apiResourcePolicy': [],
    'param:secretsKmsKeyArn': '',
    'param:stackTags': {},
    'self:provider.region': 'eu-central-1',
    'self:service': 'cluster-password-reset',
    'sls:stage': 'ci',
  };
  const resolve = (name: string, params: Record<string, unknown> = {}) =>
    hardening[name]?.({
      resolveVariable: async (variable) =>
        variable.startsWith('param:') && variable.slice(6) in params
          ? params[variable.slice(6)]
          : DEFAULTS[variable],
    });

  it.each([
    ['reservedConcurrency', { reservedConcurrency: -1 }, 'integer from 0'],
    ['reservedConcurrency', { reservedConcurrency: '2.5' }, 'integer from 0'],
    ['apiThrottleBurst', { apiThrottleBurst: 'many' }, 'integer from 0'],
    ['apiEndpointType', { apiEndpointType: 'EDGE' }, 'REGIONAL or PRIVATE'],
    ['apiResourcePolicy', { apiEndpointType: 'PRIVATE' }, 'PRIVATE needs an apiResourcePolicy'],
    ['apiResourcePolicy', { apiResourcePolicy: '[{"Effect":"Allow"}]' }, 'must be a statement'],
    ['apiResourcePolicy', { apiResourcePolicy: '{not json' }, 'as JSON'],
    ['apiSecurityPolicy', { apiSecurityPolicy: 'TLS_1_0' }, 'enhanced security policy'],
    [
      'apiSecurityPolicy',
      { apiSecurityPolicy: 'SecurityPolicy_TLS12_2018_EDGE' },
      'enhanced security policy',
    ],
    ['apiEndpointAccessMode', { apiEndpointAccessMode: 'LAX' }, 'BASIC or STRICT'],
    ['secretsKmsKeyArn', { secretsKmsKeyArn: 'alias/secrets' }, 'not an alias'],
    [
      'secretsKmsKeyArn',
      { secretsKmsKeyArn: KEY_ARN.replace('eu-central-1', 'us-east-1') },
      "stack's region",
    ],
    ['stackTags', { stackTags: { stage: 'prod' } }, 'must not set stage'],
    ['stackTags', { stackTags: { 'aws:owner': 'x' } }, 'invalid tag name'],
    ['stackTags', { stackTags: '["a"]' }, 'map of tag names'],
  ])('refuses %s %j', async (name, params, problem) => {
    await expect(resolve(name, params)).rejects.toThrow(problem);
  });

  it('reads numbers and JSON from the command line', async () => {
    expect(await resolve('reservedConcurrency', { reservedConcurrency: '0' })).toBe(0);
    expect(await resolve('apiThrottleRate', { apiThrottleRate: '0.5' })).toBe(0.5);
    expect(await resolve('apiEndpointType', { apiEndpointType: 'private' })).toBe('PRIVATE');
    expect(
      await resolve('apiResourcePolicy', {
        apiEndpointType: 'PRIVATE',
        apiResourcePolicy: JSON.stringify(VPCE_POLICY),
      }),
    ).toEqual(VPCE_POLICY);
  });
});

describe('the stage plugin (deploy/api-stage.cjs)', () => {
  const DeclaredApiStage = createRequire(import.meta.url)('../../deploy/api-stage.cjs');
  const pluginFor = (resources: Resources) =>
    new DeclaredApiStage({
      service: { provider: { compiledCloudFormationTemplate: { Resources: resources } } },
      getProvider: () => ({ getApiGatewayStage: () => 'ci' }),
      classes: { Error },
    });
  const deployment = () => ({
    Type: 'AWS::ApiGateway::Deployment',
    Properties: { RestApiId: { Ref: 'ApiGatewayRestApi' }, StageName: 'ci' },
  });

  it('takes the stage off the deployment', () => {
    const resources: Resources = { ApiGatewayDeployment1: deployment() };
    pluginFor(resources).detachStage();
    expect(resources.ApiGatewayDeployment1?.Properties).toEqual({ RestApiId: { Ref: 'ApiGatewayRestApi' } });
  });

  it('refuses a package whose declared stage is missing or points elsewhere', () => {
    expect(() => pluginFor({ ApiGatewayDeployment1: deployment() }).checkStage()).toThrow('found 0');
    const stage = {
      Type: 'AWS::ApiGateway::Stage',
      Properties: { DeploymentId: { Ref: 'Old' }, StageName: 'ci' },
    };
    expect(() =>
      pluginFor({ ApiGatewayDeployment1: deployment(), ApiGatewayStage: stage }).checkStage(),
    ).toThrow('DeploymentId');
    stage.Properties.DeploymentId.Ref = 'ApiGatewayDeployment1';
    expect(() =>
      pluginFor({ ApiGatewayDeployment1: deployment(), ApiGatewayStage: stage }).checkStage(),
    ).not.toThrow();
  });
});

describe('the retention plugin (deploy/retention.cjs)', () => {
  const RetainedResources = createRequire(import.meta.url)('../../deploy/retention.cjs');
  const retain = (resources: Resources) =>
    new RetainedResources({
      service: { provider: { compiledCloudFormationTemplate: { Resources: resources } } },
      classes: { Error },
    }).retain();

  it('keeps every log group, whoever made it, and touches nothing else', () => {
    const resources: Resources = {
      FnLogGroup: {
        Type: 'AWS::Logs::LogGroup',
        Properties: { LogGroupName: '/aws/lambda/f', RetentionInDays: 30 },
      },
      MachineLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 7 } },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    };
    retain(resources);
    for (const id of ['FnLogGroup', 'MachineLogGroup']) {
      expect(resources[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    expect(resources.Queue).toEqual({ Type: 'AWS::SQS::Queue', Properties: {} });
  });

  it('refuses a log group without a retention: kept, it would keep its lines forever', () => {
    expect(() =>
      retain({
        Kept: { Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } },
        Forever: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/x' } },
      }),
    ).toThrow(
      'Every log group needs RetentionInDays (it is kept when the stack is deleted); none on Forever',
    );
  });
});
