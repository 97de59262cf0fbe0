import { validationFailed } from '../errors.ts';
import { type InvocationMode, isObject } from '../middleware/invocation.ts';
import { eventBridgeSender, httpApiSigner, restApiSigner } from './aws-event-shapes.ts';

// Who asked for a rotation, for the audit trail: every log line of the invocation carries it
// (Powertools' appended keys) and so does the outcome event. It is never part of the answer: the
// caller knows who it is.
//
//   http         the IAM ARN that signed the request (API Gateway's requestContext);
//   eventbridge  `eventbridge:<account>:<source>` of the event;
//   direct       the payload's own `caller` (the fleet state machine sends its execution ARN),
//                or `direct invocation`; a claim, not an identity: whoever may invoke the function
//                may write anything there (CloudTrail's Invoke record has the IAM identity);
//   rotation     secretsmanager.amazonaws.com, the only one that sends rotation events.

const ROTATION_CALLER = 'secretsmanager.amazonaws.com';
const DIRECT_CALLER = 'direct invocation';
const UNIDENTIFIED_HTTP_CALLER = 'unidentified HTTP caller';
const UNIDENTIFIED_EVENT_SENDER = 'unidentified EventBridge sender';

/** The envelope-level field of a direct payload that names its caller; not a field of the request. */
export const CALLER_FIELD = 'caller';

/** A direct payload's `caller`. */
const CALLER_PATTERN = /^[A-Za-z0-9:/_.+=@$-]{1,512}$/;
/** What AWS puts in an event: ARNs, accounts, sources (IAM names may also hold commas). */
const AWS_VALUE_PATTERN = /^[A-Za-z0-9:/_.+=@$,-]{1,512}$/;

const fromAws = (value: string | null | undefined): string | undefined =>
  typeof value === 'string' && AWS_VALUE_PATTERN.test(value) ? value : undefined;

const httpCaller = (event: unknown): string => {
  const v2 = isObject(event) && event.version === '2.0';
  const arn = v2
    ? httpApiSigner.safeParse(event).data?.requestContext.authorizer.iam.userArn
    : restApiSigner.safeParse(event).data?.requestContext.identity.userArn;
  return fromAws(arn) ?? UNIDENTIFIED_HTTP_CALLER;
};

const eventBridgeCaller = (event: unknown): string => {
  const sender = eventBridgeSender.safeParse(event).data;
  const account = fromAws(sender?.account);
  const source = fromAws(sender?.source);
  return account && source ? `eventbridge:${account}:${source}` : UNIDENTIFIED_EVENT_SENDER;
};

const directCaller = (event: unknown): string => {
  if (!isObject(event) || !(CALLER_FIELD in event)) return DIRECT_CALLER;
  const claimed = event[CALLER_FIELD];
  if (typeof claimed !== 'string' || !CALLER_PATTERN.test(claimed)) {
    // Never logged nor echoed: only the rule it broke.
    throw validationFailed([
      { field: CALLER_FIELD, rule: 'must be 1-512 letters, digits or any of : / _ . + = @ $ -' },
    ]);
  }
  return claimed;
};

/**
 * The caller of an invocation, from the raw event of its mode. Never fails for what AWS sends (an
 * identity it cannot read is `unidentified …`); a direct payload's `caller` that breaks its rule
 * is VALIDATION_FAILED.
 */
export const callerOf = (mode: InvocationMode, event: unknown): string => {
  switch (mode) {
    case 'http':
      return httpCaller(event);
    case 'eventbridge':
      return eventBridgeCaller(event);
    case 'rotation':
      return ROTATION_CALLER;
    default:
      return directCaller(event);
  }
};
