import { errorReport, isResetError, ResetError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { ProviderId } from '../providers/types.ts';
import type { FailureResult, NormalizedResult } from '../result.ts';
import { isReplay } from '../rotation/replay.ts';
import type { ResetInternal, ResetMiddleware } from './invocation.ts';

export interface NormalizeResponseOptions {
  provider: ProviderId;
  operation: string;
}

/** The normalized result of this invocation, once normalize-response has built it. */
export const outcomeOf = (request: { internal: ResetInternal }): NormalizedResult | undefined =>
  request.internal.outcome;

/** Whether this invocation really attempted a rotation (so that its outcome is news). */
export const wasAttempt = (request: { internal: ResetInternal }): boolean =>
  request.internal.notAnAttempt !== true;

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

const carriesPassword = (error: ResetError): boolean =>
  error.code === 'VALIDATION_FAILED' && (error.fields ?? []).some((issue) => issue.field === 'password');

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
 * PascalCase code so that Step Functions Retry/Catch can match it.
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
    if (request.internal.mode === 'eventbridge' && carriesPassword(error)) {
      // Thrown, the event would be retried and then kept, password and all, in the dead-letter
      // queue. The request rules already drop such events; one whose password the pattern cannot
      // see (an object, a list) is answered here: refused, logged, and not retried.
      request.response = result;
      return;
    }
    request.error = namedError(error);
  },
});
