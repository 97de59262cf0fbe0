import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Envelope } from '../../lib/envelope.ts';
import {
  type InvocationMode,
  type ResetInternal,
  type ResetMiddleware,
  ResetRequest,
} from '../../lib/middleware/invocation.ts';
import { lambdaContext } from './events.ts';

// Middleware tests run their middleware through middy, as the handlers do, never by calling a
// hook on a hand-made request.

export interface ChainRun {
  response: unknown;
  /** What the invocation threw, if it threw. */
  error: Error | undefined;
  internal: ResetInternal;
  /** The event as the handler (or the failing step) left it. */
  event: unknown;
}

/** Runs the middlewares and a handler (by default one that answers `{}`) on one event. */
export const runChain = async (
  middlewares: ResetMiddleware[],
  event: unknown,
  handler: (event: unknown) => Promise<unknown> = async () => ({}),
  context: Context = lambdaContext(),
): Promise<ChainRun> => {
  let seen: { internal: ResetInternal; event: unknown } = { internal: {}, event };
  // First in the chain, so that it holds the request whatever step fails later.
  const observe: ResetMiddleware = {
    before: (request) => {
      seen = request;
    },
  };
  const run = middy<unknown, unknown, Error, Context, ResetInternal>()
    .use([observe, ...middlewares])
    .handler(handler);
  try {
    const response = await run(event, context);
    return { response, error: undefined, internal: seen.internal, event: seen.event };
  } catch (error) {
    return { response: undefined, error: error as Error, internal: seen.internal, event: seen.event };
  }
};

/** Stands in for the steps before a middleware under test: the mode, the input, the envelope. */
export const given = (state: {
  mode?: InvocationMode;
  input?: Record<string, unknown>;
  envelope?: Envelope;
}): ResetMiddleware => ({
  before: (request) => {
    if (state.mode) request.internal.mode = state.mode;
    if (state.input) request.internal.input = state.input;
    if (state.envelope) {
      request.internal.envelope = state.envelope;
      request.event = new ResetRequest(state.mode ?? 'direct', state.envelope);
    }
  },
});
