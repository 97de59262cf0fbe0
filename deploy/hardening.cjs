'use strict';

// The production-hardening settings of the stack, from stage parameters (serverless.yml `params`),
// checked at package time. serverless.yml reads each as `${file(./deploy/hardening.cjs):<name>}`:
// each export is called alone, with the framework's resolveVariable.
//
// - API Gateway: endpoint type (REGIONAL, or PRIVATE with a resource policy), resource policy,
//   TLS security policy and endpoint access mode, stage throttling, the access-log format.
// - Lambda: reserved concurrency per function (0 is the kill switch).
// - Data: the optional customer-managed KMS key of the secrets (`secretsKmsKeyArn`), which also
//   encrypts the dead-letter queue; without it the stack creates the queue's key.
// - Stack tags.
//
// A list or map parameter may come from the command line as JSON (`--param 'apiResourcePolicy=[…]'`),
// a number as its digits (`--param reservedConcurrency=0`).

/** A KMS key ARN (not an alias: IAM statements name keys by key ARN). */
const KMS_KEY_ARN = /^arn:aws(?:-[a-z]+)*:kms:([a-z0-9-]+):\d{12}:key\/(?:mrk-)?[A-Za-z0-9-]+$/;
const ENDPOINT_TYPES = ['REGIONAL', 'PRIVATE'];
const ACCESS_MODES = ['BASIC', 'STRICT'];
/**
 * API Gateway's enhanced security policies of Regional and private REST APIs, all at least TLS 1.2
 * (the `…_EDGE` ones are for edge-optimized APIs; the legacy TLS_1_0 admits TLS 1.0).
 */
const SECURITY_POLICY = /^SecurityPolicy_TLS13_1_[23](?:_[A-Za-z0-9]+)*_\d{4}_\d{2}$/;
/** The stack's own tags, which a stage's `stackTags` may add to but not change. */
const RESERVED_TAGS = ['service', 'stage', 'managed-by'];
/** CloudFormation's and the tagging APIs' rule for tag keys and values. */
const TAG_KEY = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

const { listParam, mapParam } = require('./params.cjs');
const unroutedRequests = require('./unrouted-requests.cjs');

const read = (resolveVariable, name) => resolveVariable(`param:${name}`);

const numberOf = (name, value, { min, max, integer }) => {
  const number = typeof value === 'string' && /^\d+(?:\.\d+)?$/.test(value.trim()) ? Number(value) : value;
  const valid =
    typeof number === 'number' &&
    Number.isFinite(number) &&
    (!integer || Number.isInteger(number)) &&
    number >= min &&
    number <= max;
  if (!valid) throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  return number;
};

const oneOf = (name, value, allowed) => {
  const upper = typeof value === 'string' ? value.trim().toUpperCase() : value;
  if (!allowed.includes(upper)) throw new Error(`${name} must be ${allowed.join(' or ')}`);
  return upper;
};

const endpointType = async (resolveVariable) =>
  oneOf('apiEndpointType', (await read(resolveVariable, 'apiEndpointType')) ?? 'REGIONAL', ENDPOINT_TYPES);

/** The stage's customer-managed key of the secrets, or '' for none (the AWS-managed key). */
const secretsKey = async (resolveVariable) => {
  const arn = (await read(resolveVariable, 'secretsKmsKeyArn')) ?? '';
  if (arn === '') return '';
  const match = typeof arn === 'string' ? KMS_KEY_ARN.exec(arn) : null;
  if (!match) {
    throw new Error(
      'secretsKmsKeyArn must be empty or a KMS key ARN (not an alias), e.g. arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    );
  }
  const region = await resolveVariable('self:provider.region');
  if (match[1] !== region) {
    throw new Error(`secretsKmsKeyArn must be a key of the stack's region, ${region} (got ${match[1]})`);
  }
  return arn;
};

const QUEUE_KEY = 'FailedRequestsKey';

module.exports = {
  /** Reserved concurrency of each function; 0 stops them all (the kill switch). */
  reservedConcurrency: async ({ resolveVariable }) =>
    numberOf('reservedConcurrency', await read(resolveVariable, 'reservedConcurrency'), {
      min: 0,
      max: 10000,
      integer: true,
    }),

  /** Requests per second the stage admits, on average; 0 refuses every request (429). */
  apiThrottleRate: async ({ resolveVariable }) =>
    numberOf('apiThrottleRate', await read(resolveVariable, 'apiThrottleRate'), { min: 0, max: 10000 }),

  /** Requests the stage admits at once above the rate. */
  apiThrottleBurst: async ({ resolveVariable }) =>
    numberOf('apiThrottleBurst', await read(resolveVariable, 'apiThrottleBurst'), {
      min: 0,
      max: 5000,
      integer: true,
    }),

  apiEndpointType: async ({ resolveVariable }) => endpointType(resolveVariable),

  /**
   * The REST API's resource policy statements (none by default). A PRIVATE API needs one that
   * allows its callers, e.g. from a VPC endpoint (`aws:SourceVpce`): API Gateway refuses to deploy a
   * private API without it.
   */
  apiResourcePolicy: async ({ resolveVariable }) => {
    const statements = listParam('apiResourcePolicy', await read(resolveVariable, 'apiResourcePolicy'), {
      what: 'a list of IAM policy statements',
      example:
        '[{"Effect":"Allow","Principal":"*","Action":"execute-api:Invoke","Resource":"execute-api:/*"}]',
    });
    statements.forEach((statement, index) => {
      const valid =
        statement !== null &&
        typeof statement === 'object' &&
        !Array.isArray(statement) &&
        ['Allow', 'Deny'].includes(statement.Effect) &&
        'Action' in statement &&
        'Resource' in statement &&
        ('Principal' in statement || 'NotPrincipal' in statement);
      if (!valid) {
        throw new Error(
          `apiResourcePolicy[${index}] must be a statement with Effect (Allow or Deny), Principal, Action and Resource`,
        );
      }
    });
    if (
      (await endpointType(resolveVariable)) === 'PRIVATE' &&
      !statements.some((statement) => statement.Effect === 'Allow')
    ) {
      throw new Error(
        'apiEndpointType PRIVATE needs an apiResourcePolicy that allows the callers, e.g. from a VPC endpoint (aws:SourceVpce)',
      );
    }
    return statements;
  },

  /** The REST API's TLS security policy: an enhanced policy of at least TLS 1.2. */
  apiSecurityPolicy: async ({ resolveVariable }) => {
    const policy = await read(resolveVariable, 'apiSecurityPolicy');
    if (typeof policy !== 'string' || !SECURITY_POLICY.test(policy)) {
      throw new Error(
        'apiSecurityPolicy must be an enhanced security policy of Regional and private APIs, e.g. SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09 (TLS 1.3 and 1.2) or SecurityPolicy_TLS13_1_3_2025_09 (TLS 1.3 only)',
      );
    }
    return policy;
  },

  /** BASIC, or STRICT: API Gateway then also refuses a request whose TLS SNI names another host. */
  apiEndpointAccessMode: async ({ resolveVariable }) =>
    oneOf(
      'apiEndpointAccessMode',
      (await read(resolveVariable, 'apiEndpointAccessMode')) ?? 'BASIC',
      ACCESS_MODES,
    ),

  /**
   * The access-log line of a request, as JSON: who (the caller's IAM ARN), what (the route, never
   * its body nor its headers), the answer and the request ids. The route's path template, not the
   * path: the cluster is in the function's own logs.
   */
  apiAccessLogFormat: async () =>
    JSON.stringify({
      requestId: '$context.requestId',
      extendedRequestId: '$context.extendedRequestId',
      requestTime: '$context.requestTime',
      userArn: '$context.identity.userArn',
      caller: '$context.identity.caller',
      accountId: '$context.identity.accountId',
      sourceIp: '$context.identity.sourceIp',
      vpceId: '$context.identity.vpceId',
      userAgent: '$context.identity.userAgent',
      httpMethod: '$context.httpMethod',
      resourcePath: '$context.resourcePath',
      status: '$context.status',
      errorType: '$context.error.responseType',
      responseLength: '$context.responseLength',
      responseLatency: '$context.responseLatency',
      integrationStatus: '$context.integration.status',
      integrationLatency: '$context.integration.latency',
      tlsVersion: '$context.tlsVersion',
      cipherSuite: '$context.cipherSuite',
    }),

  /** SECRETS_KMS_KEY_ID: the key of the secrets the functions create; empty for the AWS-managed key. */
  secretsKmsKeyArn: async ({ resolveVariable }) => secretsKey(resolveVariable),

  /** The fingerprint key secret's KmsKeyId: the stage's key, or none (the AWS-managed key). */
  secretsKmsKeyId: async ({ resolveVariable }) => {
    const arn = await secretsKey(resolveVariable);
    return arn === '' ? { Ref: 'AWS::NoValue' } : arn;
  },

  /**
   * The keys the roles may use through Secrets Manager: the stage's key alone when it has one, else
   * the account's keys of the region (the AWS-managed aws/secretsmanager needs no grant at all).
   */
  secretsKeyResource: async ({ resolveVariable }) => {
    const arn = await secretsKey(resolveVariable);
    return [
      arn === '' ? { 'Fn::Sub': `arn:\${AWS::Partition}:kms:\${AWS::Region}:\${AWS::AccountId}:key/*` } : arn,
    ];
  },

  /** The dead-letter queue's key: the stage's key of the secrets, else the one the stack creates. */
  queueKeyId: async ({ resolveVariable }) => {
    const arn = await secretsKey(resolveVariable);
    return arn === '' ? { 'Fn::GetAtt': [QUEUE_KEY, 'Arn'] } : arn;
  },

  queueKeyResource: async ({ resolveVariable }) => {
    const arn = await secretsKey(resolveVariable);
    return [arn === '' ? { 'Fn::GetAtt': [QUEUE_KEY, 'Arn'] } : arn];
  },

  /**
   * The dead-letter queue's key when the stage has no key of its own: the account administers it and
   * delegates its use to IAM; each function's role may use it through SQS alone (serverless.yml).
   * The key policy cannot name the roles: their policies name the key, a circular dependency.
   */
  resources: async ({ resolveVariable }) => {
    if ((await secretsKey(resolveVariable)) !== '') return { Resources: {} };
    const service = await resolveVariable('self:service');
    const stage = await resolveVariable('sls:stage');
    return {
      Resources: {
        // Kept when the stack is deleted or the key replaced (a key is never deleted at once in
        // any case: KMS waits 7 to 30 days), so that nothing it encrypted is lost with the stack.
        [QUEUE_KEY]: {
          Type: 'AWS::KMS::Key',
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: {
            Description: `Encrypts the dead-letter queue of ${service} stage ${stage}`,
            EnableKeyRotation: true,
            KeyPolicy: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'AccountAdministersAndDelegatesToIam',
                  Effect: 'Allow',
                  Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root` } },
                  Action: 'kms:*',
                  Resource: '*',
                },
                // EventBridge's catch-all rules of the request bus send to the queue too.
                await unroutedRequests.keyPolicyStatement({ resolveVariable }),
              ],
            },
          },
        },
        [`${QUEUE_KEY}Alias`]: {
          Type: 'AWS::KMS::Alias',
          Properties: {
            AliasName: `alias/${service}-${stage}-failed-requests`,
            TargetKeyId: { Ref: QUEUE_KEY },
          },
        },
      },
    };
  },

  /** The stack's tags (CloudFormation puts them on every resource that takes tags), and the stage's. */
  stackTags: async ({ resolveVariable }) => {
    const extra = mapParam('stackTags', await read(resolveVariable, 'stackTags'), {
      what: 'a map of tag names to values',
      example: '{"cost-center":"1234"}',
    });
    for (const [key, value] of Object.entries(extra)) {
      if (RESERVED_TAGS.includes(key)) throw new Error(`stackTags must not set ${key}: the stack sets it`);
      if (!TAG_KEY.test(key)) throw new Error(`stackTags has an invalid tag name ${JSON.stringify(key)}`);
      if (typeof value !== 'string' || !TAG_VALUE.test(value)) {
        throw new Error(
          `stackTags.${key} must be a string of at most 256 letters, digits, spaces or _.:/=+-@`,
        );
      }
    }
    return {
      service: await resolveVariable('self:service'),
      stage: await resolveVariable('sls:stage'),
      'managed-by': 'serverless',
      ...extra,
    };
  },
};
