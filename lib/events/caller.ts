import { validationFailed } from '../errors.ts';
import { type InvocationMode, isObject } from '../middleware/invocation.ts';
import { eventBridgeSender, httpApiSigner, restApiSigner } from './aws-event-shapes.ts';

// Who asked for a rotation, for the audit trail: every log line of the invocation carries it
// (Powertools' appended keys) and so does the outcome event, with `callerVerified`: whether AWS
// vouches for it or the payload only claims it. AWS vouches only as far as lambda:InvokeFunction
// is kept to administrators: a direct invoker can send any shape. It is never part of the answer:
// the caller knows who it is.
//
//   http         the IAM ARN that signed the request (API Gateway's requestContext); verified;
//   eventbridge  `eventbridge:<account>:<source>` of the event (EventBridge sets the account);
//                verified;
//   direct       the payload's own `caller` (the fleet state machine sends its execution ARN),
//                or `direct invocation`; a claim: whoever may invoke the function may write
//                anything there (CloudTrail's Invoke data event has the IAM identity);
//   rotation     `rotation event`: a payload of Secrets Manager's shape. Secrets Manager sends
//                them, but so can anyone allowed lambda:InvokeFunction, and a function cannot tell
//                the two apart: never logged as secretsmanager.amazonaws.com.

const ROTATION_CALLER = 'rotation event';
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

export interface Caller {
  caller: string;
  /** True when AWS vouches for the caller (a signature, EventBridge's account); false for a claim. */
  callerVerified: boolean;
}

/**
 * The caller of an invocation, from the raw event of its mode. Never fails for what AWS sends (an
 * identity it cannot read is `unidentified …`); a direct payload's `caller` that breaks its rule
 * is VALIDATION_FAILED.
 */
export const callerOf = (mode: InvocationMode, event: unknown): Caller => {
  switch (mode) {
    case 'http': {
      const caller = httpCaller(event);
      return { caller, callerVerified: caller !== UNIDENTIFIED_HTTP_CALLER };
    }
    case 'eventbridge': {
      const caller = eventBridgeCaller(event);
      return { caller, callerVerified: caller !== UNIDENTIFIED_EVENT_SENDER };
    }
    case 'rotation':
      return { caller: ROTATION_CALLER, callerVerified: false };
    default:
      return { caller: directCaller(event), callerVerified: false };
  }
};
