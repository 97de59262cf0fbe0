import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Envelope } from '../envelope.ts';
import type { NormalizedResult } from '../result.ts';
import type { RotationStep } from '../rotation/native.ts';

// What the middlewares hand each other, in one typed place: Middy's `request.internal`. The mode
// is decided once, from the raw event's real shape, before anything reads the event; no field a
// caller sends can set it. The event itself is replaced once, by validation, with a ResetRequest:
// an object no JSON payload can be, which is all the operation accepts.

export type InvocationMode = 'http' | 'eventbridge' | 'direct' | 'rotation';

/** A Secrets Manager rotation step, as the rotation event names it (validated). */
export interface RotationEvent {
  step: RotationStep;
  secretId: string;
  token: string;
  rotationToken?: string;
}

export interface ResetInternal extends Record<string, unknown> {
  mode?: InvocationMode;
  /** Who asked (caller.ts): in every log line of the invocation and in its outcome event. */
  caller?: string;
  /** Whether AWS vouches for `caller` (HTTP, EventBridge) or the payload only claims it. */
  callerVerified?: boolean;
  /** The envelope's fields as the caller sent them, before validation. */
  input?: Record<string, unknown>;
  envelope?: Envelope;
  /** Rotation mode: the step Secrets Manager asked for; the envelope comes from the secret's tags. */
  rotation?: RotationEvent;
  /** The normalized result of this invocation, once normalize-response has built it. */
  outcome?: NormalizedResult;
  /** A replay from a key's record, or a lease refusal: not a new attempt, so no outcome event. */
  notAnAttempt?: boolean;
}

/** Modes whose sender never receives the answer: the outcome event is the only one it can get. */
const UNANSWERED_MODES: ReadonlySet<InvocationMode | undefined> = new Set(['eventbridge', 'rotation']);

/**
 * The one rule of "was this an attempt?": the outcome of this invocation if it really attempted a
 * rotation, else undefined. Not an attempt: a dry run; a replay from a key's record, a lease refusal
 * (ROTATION_IN_PROGRESS) or a Secrets Manager step before finishSecret (`notAnAttempt`, set by
 * normalize-response); a request refused before it had a target. A failed request event or Secrets
 * Manager rotation is an attempt even when refused before it named a cluster (a misspelt field; a
 * secret retagged, of another provider, with rotation turned off): its sender never sees the answer,
 * and Secrets Manager would retry a rotation nobody hears of. The outcome events, the rotation
 * history and `RotationSucceeded` all follow it.
 */
export const attemptOutcome = (request: { internal: ResetInternal }): NormalizedResult | undefined => {
  const { outcome: result, notAnAttempt, mode } = request.internal;
  if (notAnAttempt === true || !result || result.dryRun) return undefined;
  if (result.clusterId === undefined && (result.ok || !UNANSWERED_MODES.has(mode))) return undefined;
  return result;
};

/** Every middleware of the chain has this shape: raw event in, any answer out, typed internal. */
export type ResetMiddleware = MiddlewareObj<unknown, unknown, Error, Context, ResetInternal>;

/** The validated request the operation runs on; credentials are attached once they are loaded. */
export class ResetRequest {
  readonly mode: InvocationMode;
  readonly envelope: Envelope;
  readonly rotation: RotationEvent | undefined;
  credentials: unknown;

  constructor(mode: InvocationMode, envelope: Envelope, rotation?: RotationEvent) {
    this.mode = mode;
    this.envelope = envelope;
    this.rotation = rotation;
  }
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The invocation mode of a raw event, by the shapes AWS gives them; anything else is direct. */
const modeOf = (event: unknown): InvocationMode => {
  if (!isObject(event)) return 'direct';
  if ('httpMethod' in event && 'requestContext' in event) return 'http';
  if (event.version === '2.0' && isObject(event.requestContext) && 'http' in event.requestContext)
    return 'http';
  if ('detail-type' in event && 'source' in event && 'detail' in event) return 'eventbridge';
  // Secrets Manager's rotation event: these keys and no envelope field (an envelope never has them).
  if ('Step' in event && 'SecretId' in event && 'ClientRequestToken' in event) return 'rotation';
  return 'direct';
};

/** First in the chain: decides the mode once, so that every later step and the answer agree. */
export const invocationMode = (): ResetMiddleware => ({
  before: (request) => {
    request.internal.mode = modeOf(request.event);
  },
});
