import { randomUUID } from 'node:crypto';
import { lambdaFunctionArn } from './aws.ts';
import type { Invoke } from './lambda-invoke.ts';

// Lambda's asynchronous invocation, as the sandbox plays it for EventBridge rules. serverless-offline
// does not catch a failing `Event` invoke (the whole `npm start` dies), so the sandbox invokes
// synchronously itself and does what Lambda's event queue does: retries, then the onFailure
// destination.

/** What Lambda sends to an onFailure destination. */
export interface OnFailureRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetriesExhausted' | 'EventAgeExceeded';
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: string };
  responsePayload: { errorType: string; errorMessage: string };
}

export interface AsyncInvocationOptions {
  functionName: string;
  /** A synchronous invocation: resolves with the result, rejects on a function error. */
  invoke: Invoke;
  /** The onFailure destination; without one the event is dropped, as Lambda drops it. */
  onFailure?: (record: OnFailureRecord) => void;
  /** Lambda's default is 2. */
  maximumRetryAttempts?: number;
  /** Lambda's default is 6 hours. */
  maximumEventAgeSeconds?: number;
  /** The nth retry waits n times this (Lambda waits about 1 min, then 2 min). */
  retryDelayMs?: number;
  /** One line per failed delivery. */
  log?: (line: string) => void;
  now?: () => number;
}

export { lambdaFunctionArn };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Returns a delivery function for one Lambda function. Its promise settles once the event has
 * succeeded or gone to the onFailure destination, and never rejects: nothing here may take the
 * server down.
 */
export const asyncInvoker = (options: AsyncInvocationOptions): ((event: unknown) => Promise<void>) => {
  const {
    functionName,
    invoke,
    onFailure,
    maximumRetryAttempts = 2,
    maximumEventAgeSeconds = 21_600,
    retryDelayMs = 200,
    log = () => undefined,
    now = Date.now,
  } = options;

  const deliver = async (event: unknown): Promise<void> => {
    const requestId = randomUUID();
    const queuedAt = now();
    let attempts = 0;
    let condition: OnFailureRecord['requestContext']['condition'] = 'RetriesExhausted';
    let failure: Error;
    for (;;) {
      attempts += 1;
      try {
        await invoke(event);
        return;
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      if (attempts > maximumRetryAttempts) break;
      await sleep(retryDelayMs * attempts);
      if (now() - queuedAt > maximumEventAgeSeconds * 1000) {
        condition = 'EventAgeExceeded';
        break;
      }
    }
    // The error's name and the count only: the event and the message stay out of the log.
    log(
      `${functionName}: asynchronous invocation failed (${failure.name}, ${attempts} attempt${attempts === 1 ? '' : 's'}, ${condition}); ` +
        (onFailure
          ? 'the event is in the dead-letter queue (GET /_sandbox/dead-letters)'
          : 'the event is dropped'),
    );
    onFailure?.({
      version: '1.0',
      timestamp: new Date(now()).toISOString(),
      requestContext: {
        requestId,
        functionArn: `${lambdaFunctionArn(functionName)}:$LATEST`,
        condition,
        approximateInvokeCount: attempts,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: failure.name, errorMessage: failure.message },
    });
  };

  return (event) =>
    deliver(event).catch((error: unknown) => {
      try {
        log(`${functionName}: asynchronous delivery broke: ${error instanceof Error ? error.name : 'error'}`);
      } catch {
        // Even a broken logger must not reject.
      }
    });
};
