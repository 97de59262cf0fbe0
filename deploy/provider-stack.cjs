'use strict';

// What each provider adds to the stack, generated from the provider list (deploy/functions.cjs,
// which reads lib/providers/registry.ts): its function with its HTTP route and request rule, its
// IAM role, and its resource policy for Secrets Manager. Every provider gets the same shape; what
// differs is its id, its credentials folder and its function's name, so that no role can touch
// another provider's credentials, secrets, lease records or history.

const { FUNCTIONS_BY_PROVIDER } = require('./functions.cjs');
const hardening = require('./hardening.cjs');

const PROVIDERS = Object.values(FUNCTIONS_BY_PROVIDER);
// CloudFormation's pseudo parameters, for Fn::Sub (not JavaScript templates).
const ARN = `arn:\${AWS::Partition}`;
const HERE = `\${AWS::Region}:\${AWS::AccountId}`;
const sub = (text) => ({ 'Fn::Sub': text });
const viaService = (service) => ({
  StringEquals: { 'kms:ViaService': [sub(`${service}.\${AWS::Region}.amazonaws.com`)] },
});
const IDENTITY_TAG_KEYS = ['managed-by', 'provider', 'region', 'cluster-id', 'project-id', 'account'];

const names = async (resolveVariable) => ({
  service: await resolveVariable('self:service'),
  stage: await resolveVariable('sls:stage'),
  credentialsPrefix: await resolveVariable('param:credentialsPrefix'),
  secretPrefix: await resolveVariable('param:secretPrefix'),
  eventBusName: await resolveVariable('param:eventBusName'),
});

/** The role of one provider's function: its own log group, credentials, secrets and records. */
const role = (provider, { service, stage, credentialsPrefix, secretPrefix, eventBusName }, keys) => {
  const secrets = sub(`${ARN}:secretsmanager:${HERE}:secret:${secretPrefix}/${provider.id}/*`);
  // A cluster's secret is created with this provider's identity tags (lib/rotation/secret-store.ts),
  // and no other tags.
  const identityTags = {
    StringEquals: {
      'aws:RequestTag/managed-by': 'cluster-password-reset',
      'aws:RequestTag/provider': provider.id,
    },
    'ForAllValues:StringEquals': { 'aws:TagKeys': IDENTITY_TAG_KEYS },
  };
  const statements = [
    {
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: [sub(`${ARN}:logs:${HERE}:log-group:/aws/lambda/${service}-${stage}-${provider.name}:*`)],
    },
    // This provider's credentials only, read only.
    {
      Effect: 'Allow',
      Action: 'ssm:GetParameters',
      Resource: [sub(`${ARN}:ssm:${HERE}:parameter${credentialsPrefix}/${provider.credentialsFolder}/*`)],
    },
    // The calls of the rotation protocol; ListSecretVersionIds gives the age of an AWSPENDING
    // version that holds no value yet (native rotation). Never a delete.
    {
      Effect: 'Allow',
      Action: [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:ListSecretVersionIds',
      ],
      Resource: [secrets],
    },
    { Effect: 'Allow', Action: 'secretsmanager:CreateSecret', Resource: [secrets], Condition: identityTags },
    // CreateSecret with tags needs TagResource too: only on a secret without identity tags yet (one
    // being created), with the same tags; never to retag a secret.
    {
      Effect: 'Allow',
      Action: 'secretsmanager:TagResource',
      Resource: [secrets],
      Condition: { Null: { 'secretsmanager:ResourceTag/managed-by': 'true' }, ...identityTags },
    },
    // The per-deployment key that binds a supplied password to its idempotency key.
    { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [{ Ref: 'FingerprintKey' }] },
    // SecureString credentials under customer-managed keys, only as SSM uses them in this region.
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: [sub(`${ARN}:kms:${HERE}:key/*`)],
      Condition: viaService('ssm'),
    },
    // Secrets, only through Secrets Manager in this region: the stage's secretsKmsKeyArn alone when
    // set, else the account's keys (the AWS-managed one needs no grant).
    {
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: keys.secrets,
      Condition: viaService('secretsmanager'),
    },
    // Rotation leases, key, binding and version records under this provider's keys only
    // (lib/rotation: lease#<provider>#…, key#<provider>#…, version#<secret name>#…).
    {
      Effect: 'Allow',
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: [{ 'Fn::GetAtt': ['LeaseTable', 'Arn'] }],
      Condition: {
        'ForAllValues:StringLike': {
          'dynamodb:LeadingKeys': [
            `lease#${provider.id}#*`,
            `key#${provider.id}#*`,
            `binding#${provider.id}#*`,
            `version#${secretPrefix}/${provider.id}/*`,
          ],
        },
      },
    },
    // The rotation history: add this provider's attempts; never change or delete one.
    {
      Effect: 'Allow',
      Action: 'dynamodb:PutItem',
      Resource: [{ 'Fn::GetAtt': ['HistoryTable', 'Arn'] }],
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`cluster#${provider.id}#*`] } },
    },
    // The outcome events alone (lib/middleware/publish-outcome.ts), on the configured bus only.
    {
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Resource: [sub(`${ARN}:events:${HERE}:event-bus/${eventBusName}`)],
      Condition: {
        StringEquals: {
          'events:source': 'cluster-password-reset',
          'events:detail-type': ['Cluster Password Reset Succeeded', 'Cluster Password Reset Failed'],
        },
      },
    },
    // Failed asynchronous requests go to the dead-letter queue: Lambda sends them as this role,
    // which therefore uses the queue's KMS key, through SQS only.
    {
      Effect: 'Allow',
      Action: 'sqs:SendMessage',
      Resource: [{ 'Fn::GetAtt': ['FailedRequestsQueue', 'Arn'] }],
    },
    {
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: keys.queue,
      Condition: viaService('sqs'),
    },
  ];
  return {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
            // Lambda on behalf of this account only (confused-deputy protection).
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
      Policies: [
        {
          PolicyName: `reset-${provider.id}`,
          PolicyDocument: { Version: '2012-10-17', Statement: statements },
        },
      ],
    },
  };
};

/**
 * Each handler is the rotation function of its provider's secrets, which Secrets Manager invokes.
 * SourceAccount keeps other accounts' secrets from using it as theirs; SourceArn, the secrets of
 * other stages and providers (Lambda matches it with ArnLike: the wildcard holds the random suffix).
 */
const secretsManagerPermission = (provider, { secretPrefix }) => ({
  Type: 'AWS::Lambda::Permission',
  Properties: {
    Action: 'lambda:InvokeFunction',
    FunctionName: { 'Fn::GetAtt': [provider.function, 'Arn'] },
    Principal: 'secretsmanager.amazonaws.com',
    SourceAccount: { Ref: 'AWS::AccountId' },
    SourceArn: sub(`${ARN}:secretsmanager:${HERE}:secret:${secretPrefix}/${provider.id}/*`),
  },
});

module.exports = {
  /** serverless.yml `functions`: one per provider, with its route and its request rule. */
  functions: async ({ resolveVariable }) => {
    const asyncInvocation = await resolveVariable('self:custom.asyncInvocation');
    const reservedConcurrency = await hardening.reservedConcurrency({ resolveVariable });
    return Object.fromEntries(
      PROVIDERS.map((provider) => [
        provider.name,
        {
          handler: provider.handler,
          role: provider.role,
          reservedConcurrency,
          description: provider.description,
          ...asyncInvocation,
          events: [
            { http: { path: provider.path, method: 'post', authorizer: 'aws_iam' } },
            // Requests on the stage's request bus only. A request holding a password matches no
            // handler's rule, so it never reaches a function: a catch-all rule puts it, without its
            // password, in the dead-letter queue (deploy/unrouted-requests.cjs).
            {
              eventBridge: {
                eventBus: { 'Fn::GetAtt': ['RequestBus', 'Name'] },
                pattern: {
                  source: ['cluster-password-reset'],
                  'detail-type': ['Cluster Password Reset Requested'],
                  detail: { provider: [provider.id], password: [{ exists: false }] },
                },
              },
            },
          ],
        },
      ]),
    );
  },

  /** The providers' roles and Secrets Manager permissions. */
  resources: async ({ resolveVariable }) => {
    const stack = await names(resolveVariable);
    const keys = {
      secrets: await hardening.secretsKeyResource({ resolveVariable }),
      queue: await hardening.queueKeyResource({ resolveVariable }),
    };
    const Resources = {};
    for (const provider of PROVIDERS) {
      Resources[provider.role] = role(provider, stack, keys);
      Resources[provider.permission] = secretsManagerPermission(provider, stack);
    }
    return { Resources };
  },

  /** The functions the fleet state machine may invoke: every provider's, no other. */
  functionArns: () => PROVIDERS.map((provider) => ({ 'Fn::GetAtt': [provider.function, 'Arn'] })),
};
