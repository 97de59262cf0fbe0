'use strict';

// The request bus's catch-all rules: a request event that no handler's rule takes goes to the
// stage's dead-letter queue (FailedRequestsQueue) with the reason, rather than vanishing. Together
// with the handlers' rules (serverless.yml, one per provider, for requests without a password)
// they cover every request event on the bus:
//
// - UnknownProvider: `detail.provider` is none of the providers (a typo, a provider this stage
//   does not have) or absent. Generated from deploy/functions.cjs's provider list, so that a
//   provider added there is never sent here.
// - PasswordInRequest: a known provider, but `detail.password` is present. EventBridge keeps events
//   in plain text, so the handlers' rules refuse such a request; the queue gets the request without
//   its password (the input transformer copies named fields only), and nothing is reset.
//
// The message is a small JSON document (reason, rule, event id, time, sender account, provider,
// region, clusterId), never the event's detail whole. EventBridge sends it as the service principal
// events.amazonaws.com: the queue's policy (serverless.yml, FailedRequestsQueuePolicy) and the
// queue's KMS key (deploy/hardening.cjs) admit it for these rules only, by their ARNs.

const { PROVIDERS } = require('./functions.cjs');

const REQUEST_SOURCE = 'cluster-password-reset';
const REQUEST_DETAIL_TYPE = 'Cluster Password Reset Requested';
const QUEUE = 'FailedRequestsQueue';
const BUS = 'RequestBus';

const request = (detail) => ({
  source: [REQUEST_SOURCE],
  'detail-type': [REQUEST_DETAIL_TYPE],
  detail,
});

/** The catch-all rules: logical id, name suffix, pattern, and the reason the message gives. */
const RULES = [
  {
    id: 'UnroutedRequestsUnknownProviderRule',
    suffix: 'unknown-provider',
    // `anything-but` matches only a present value: an absent provider needs its own alternative.
    pattern: {
      $or: [
        request({ provider: [{ 'anything-but': [...PROVIDERS] }] }),
        request({ provider: [{ exists: false }] }),
      ],
    },
    reason: `detail.provider is not one of ${PROVIDERS.join(', ')}: no handler takes this request`,
  },
  {
    id: 'UnroutedRequestsPasswordRule',
    suffix: 'password-in-request',
    pattern: request({ provider: [...PROVIDERS], password: [{ exists: true }] }),
    reason:
      'the request carries a password, which an EventBridge request must not (events are kept in plain text); it was not run, and its password is not in this message',
  },
];

/** The rule's name: fixed, so that the queue's key policy can name it before the rule exists. */
const ruleName = (service, stage, suffix) => `${service}-${stage}-${suffix}`;

/** The fields copied into the message; EventBridge quotes each as a JSON string. */
const INPUT_PATHS = {
  eventId: '$.id',
  time: '$.time',
  senderAccount: '$.account',
  provider: '$.detail.provider',
  region: '$.detail.region',
  clusterId: '$.detail.clusterId',
};

const inputTemplate = (reason) => {
  const fields = Object.keys(INPUT_PATHS)
    .map((name) => `"${name}": "<${name}>"`)
    .join(', ');
  return `{"reason": ${JSON.stringify(reason)}, "rule": "<aws.events.rule-name>", ${fields}}`;
};

const names = async (resolveVariable) => ({
  service: await resolveVariable('self:service'),
  stage: await resolveVariable('sls:stage'),
});

/** A rule's ARN as the key policy names it: built, not `Fn::GetAtt`, which would be circular. */
const ruleArn = (service, stage, suffix) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/${service}-${stage}-requests/${ruleName(service, stage, suffix)}`,
});

module.exports = {
  RULES,
  INPUT_PATHS,
  inputTemplate,

  /** The rules, as CloudFormation resources (serverless.yml `resources`). */
  resources: async ({ resolveVariable }) => {
    const { service, stage } = await names(resolveVariable);
    const Resources = {};
    for (const rule of RULES) {
      Resources[rule.id] = {
        Type: 'AWS::Events::Rule',
        Properties: {
          Name: ruleName(service, stage, rule.suffix),
          Description: `Requests no handler takes (${rule.suffix}), to the dead-letter queue with the reason`,
          EventBusName: { 'Fn::GetAtt': [BUS, 'Name'] },
          State: 'ENABLED',
          EventPattern: rule.pattern,
          Targets: [
            {
              Id: 'failed-requests',
              Arn: { 'Fn::GetAtt': [QUEUE, 'Arn'] },
              InputTransformer: { InputPathsMap: INPUT_PATHS, InputTemplate: inputTemplate(rule.reason) },
            },
          ],
        },
      };
    }
    return { Resources };
  },

  /** The queue policy's statement that lets these rules, and nothing else of EventBridge, send. */
  queuePolicyStatement: async () => ({
    Sid: 'UnroutedRequests',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: { 'Fn::GetAtt': [QUEUE, 'Arn'] },
    Condition: { ArnEquals: { 'aws:SourceArn': RULES.map((rule) => ({ 'Fn::GetAtt': [rule.id, 'Arn'] })) } },
  }),

  /** The queue key's statement for the same rules (deploy/hardening.cjs, the key the stack creates). */
  keyPolicyStatement: async ({ resolveVariable }) => {
    const { service, stage } = await names(resolveVariable);
    return {
      Sid: 'UnroutedRequestsToTheQueue',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: '*',
      Condition: {
        ArnEquals: { 'aws:SourceArn': RULES.map((rule) => ruleArn(service, stage, rule.suffix)) },
      },
    };
  },
};
