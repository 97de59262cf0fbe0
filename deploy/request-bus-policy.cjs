'use strict';

// The resource policy of the stage's request bus (serverless.yml, RequestBus), from the stage's
// `requestSenders` parameter: the IAM principals allowed to put reset requests on it.
//
// - Empty (the default): the bus's policy names only this account, which delegates to IAM: a
//   principal of this account needs `events:PutEvents` on the bus in its own policies, and no
//   other account may put events. This is what a bus without a policy allows; the statement is
//   written out so that the policy is never absent (CloudFormation then only ever updates it).
// - Listed: those principals may put events (other accounts' too), and every other principal,
//   this account's included, is denied, whatever its own IAM policies allow. An entry is a role or
//   user ARN (`arn:aws:iam::123456789012:role/ops-rotation`), or an account root
//   (`arn:aws:iam::123456789012:root`), which admits that account's principals that its IAM allows.
//
// On the command line, a JSON list like every list parameter (`--param 'requestSenders=["arn…"]'`),
// or, as before, a comma-separated string (`--param requestSenders=arn1,arn2`); in serverless.yml a
// YAML list.

const { listParam } = require('./params.cjs');

const PRINCIPAL = /^arn:aws(?:-[a-z]+)*:iam::(\d{12}):(root|role\/.+|user\/.+)$/;

/** The listed senders, checked: a list, JSON, or a comma-separated string; empty means none. */
const parseSenders = (value) => {
  // An ARN never starts with `[`: anything else is the comma-separated form.
  const list =
    typeof value === 'string' && !value.trim().startsWith('[')
      ? value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
      : listParam('requestSenders', value, {
          what: 'a list of IAM principal ARNs',
          example: '["arn:aws:iam::123456789012:role/ops-rotation"]',
        });
  return list.map((entry, index) => {
    const match = typeof entry === 'string' ? PRINCIPAL.exec(entry) : null;
    if (!match) {
      throw new Error(
        `requestSenders[${index}] must be an IAM role, user or account root ARN, e.g. arn:aws:iam::123456789012:role/ops-rotation (got ${JSON.stringify(entry)})`,
      );
    }
    return { arn: entry, account: match[1], root: match[2] === 'root' };
  });
};

/** The bus's policy document, for the bus named `busName`. */
const requestBusPolicy = (busName, senders) => {
  const Resource = {
    'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/${busName}`,
  };
  if (senders.length === 0) {
    return {
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'ThisAccountThroughIam',
          Effect: 'Allow',
          Principal: { AWS: { 'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root` } },
          Action: 'events:PutEvents',
          Resource,
        },
      ],
    };
  }
  const principals = senders.filter((s) => !s.root).map((s) => s.arn);
  const accounts = senders.filter((s) => s.root).map((s) => s.account);
  // Denied unless the caller is a listed principal or belongs to a listed account root.
  const Condition = {};
  if (principals.length > 0) Condition.ArnNotLike = { 'aws:PrincipalArn': principals };
  if (accounts.length > 0) Condition.StringNotEquals = { 'aws:PrincipalAccount': accounts };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RequestSenders',
        Effect: 'Allow',
        Principal: { AWS: senders.map((s) => s.arn) },
        Action: 'events:PutEvents',
        Resource,
      },
      {
        Sid: 'NoOtherSenders',
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource,
        Condition,
      },
    ],
  };
};

module.exports = async ({ resolveVariable }) => {
  const [service, stage, senders] = await Promise.all([
    resolveVariable('self:service'),
    resolveVariable('sls:stage'),
    resolveVariable('param:requestSenders'),
  ]);
  return requestBusPolicy(`${service}-${stage}-requests`, parseSenders(senders));
};
module.exports.parseSenders = parseSenders;
module.exports.requestBusPolicy = requestBusPolicy;
