import { errorReport, isResetError, ResetError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { ProviderId } from '../providers/types.ts';
import type { FailureResult, NormalizedResult } from '../result.ts';
import { isReplay } from '../rotation/replay.ts';
import { type InvocationMode, isObject, type ResetMiddleware } from './invocation.ts';

export interface NormalizeResponseOptions {
  provider: ProviderId;
  operation: string;
}

const httpResponse = (result: NormalizedResult, statusCode: number) => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(result),
});

const FRAME = /^\s+at \S/;

/**
 * The frames of an error's stack, without its head. V8 heads a stack with `name: message`, and the
 * message (which may quote input, over several lines) is never logged: the head's lines (one per
 * line of the message) are dropped, and of the rest only frame lines (`at …`) are kept.
 */
export const stackFrames = (error: unknown): string[] => {
  if (!(error instanceof Error) || typeof error.stack !== 'string') return [];
  const headLines = typeof error.message === 'string' ? error.message.split('\n').length : 1;
  return error.stack
    .split('\n')
    .slice(headLines)
    .filter((line) => FRAME.test(line))
    .map((line) => line.trim());
};

/** The name of an error (its type), never its message; `unknown` for a value that is not an Error. */
const errorName = (error: unknown): string =>
  error instanceof Error && typeof error.name === 'string' ? error.name : 'unknown';

/**
 * Whether the payload carried a password: refused for it, or holding one whatever else failed
 * first (a direct payload's `caller` is checked before its fields). Only a payload that failed
 * validation can hold one: a validated event is a ResetRequest, which has no `password` of its own.
 */
const carriesPassword = (error: ResetError, event: unknown): boolean =>
  (error.code === 'VALIDATION_FAILED' && (error.fields ?? []).some((issue) => issue.field === 'password')) ||
  (isObject(event) && Object.hasOwn(event, 'password'));

/**
 * Outside HTTP, the failures that are answered (a normalized failure result, as for a success)
 * rather than thrown. A thrown error makes Lambda retry an asynchronous invocation twice and then
 * keep the payload in the on-failure queue for 14 days, and puts the payload in a Step Functions
 * execution's history of the error: so a payload carrying a password, sent to EventBridge or
 * directly (Step Functions, an asynchronous or SDK invocation), is answered, refused and not
 * retried. An EventBridge request that breaks a rule of the envelope (a misspelt field) would fail
 * the same way on every retry, and the dead-letter queue cannot mend it: it is answered too. Both
 * are still counted (RotationFailed) and logged. A direct invocation's other failures stay thrown:
 * Step Functions' Retry and Catch match them by name.
 */
const answeredNotThrown = (mode: InvocationMode | undefined, error: ResetError, event: unknown): boolean =>
  (mode === 'eventbridge' && error.code === 'VALIDATION_FAILED') ||
  (mode === 'direct' && carriesPassword(error, event));

/** What Step Functions and async callers receive: an error named after the code, no stack. */
const namedError = (error: ResetError): Error => {
  const thrown = new Error(error.message);
  thrown.name = error.name;
  thrown.stack = `${error.name}: ${error.message}`;
  return thrown;
};

/**
 * Shapes the answer for the way the handler was invoked: an HTTP response with the status of the
 * error code; a plain result object; or, on failure outside HTTP, a thrown error whose name is the
 * PascalCase code so that Step Functions Retry/Catch can match it (but see answeredNotThrown).
 */
export const normalizeResponse = (options: NormalizeResponseOptions): ResetMiddleware => ({
  after: (request) => {
    const result = request.response as NormalizedResult;
    request.internal.outcome = result;
    // Of a Secrets Manager rotation, only its last step's success is news (its failures all are).
    const step = request.internal.rotation?.step;
    if (isReplay(result) || (step !== undefined && step !== 'finishSecret'))
      request.internal.notAnAttempt = true;
    logger.info('password reset finished', {
      ok: true,
      region: result.region,
      clusterId: result.clusterId,
      dryRun: result.dryRun,
      idempotencyKey: result.idempotencyKey,
      providerRequestId: result.ok ? result.providerRequestId : undefined,
    });
    if (request.internal.mode === 'http') request.response = httpResponse(result, 200);
  },

  onError: (request) => {
    const error = isResetError(request.error)
      ? request.error
      : new ResetError(
          'INTERNAL',
          `Internal error; see the function's logs for request ${request.context.awsRequestId}`,
        );
    if (!isResetError(request.error)) {
      // Only the error's type and stack frames: its message may quote input we do not control.
      logger.error('unexpected error', {
        errorName: errorName(request.error),
        stackFrames: stackFrames(request.error),
      });
    }
    const { envelope } = request.internal;
    const result: FailureResult = {
      ok: false,
      provider: options.provider,
      operation: options.operation,
      dryRun: envelope?.dryRun ?? false,
      requestId: request.context.awsRequestId,
      completedAt: new Date().toISOString(),
      error: errorReport(error),
    };
    if (envelope) {
      result.region = envelope.region;
      result.clusterId = envelope.clusterId;
      if (envelope.idempotencyKey !== undefined) result.idempotencyKey = envelope.idempotencyKey;
    }
    request.internal.outcome = result;
    if (error.replayed || error.code === 'ROTATION_IN_PROGRESS') request.internal.notAnAttempt = true;
    logger.warn('password reset failed', {
      code: error.code,
      region: result.region,
      clusterId: result.clusterId,
      errorMessage: error.message,
      providerStatus: error.providerStatus,
      providerCode: error.providerCode,
    });
    if (request.internal.mode === 'http') {
      request.response = httpResponse(result, error.httpStatus);
      return;
    }
    if (answeredNotThrown(request.internal.mode, error, request.event)) {
      request.response = result;
      return;
    }
    request.error = namedError(error);
  },
});
