import type { Envelope, InvocationMode } from '../envelope.ts';

// What the middlewares hand each other. The event is replaced step by step, as Middy's parsers
// do: the raw AWS event, then the normalized candidate, then the validated envelope.

export interface NormalizedEvent {
  mode: InvocationMode;
  /** The envelope's fields as the caller sent them, before validation. */
  input: Record<string, unknown>;
}

export interface ValidatedEvent {
  mode: InvocationMode;
  envelope: Envelope;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The invocation mode of a raw event, or of one already normalized by normalize-event. */
export const modeOf = (event: unknown): InvocationMode => {
  if (!isObject(event)) return 'direct';
  if (typeof event.mode === 'string' && ('input' in event || 'envelope' in event)) {
    return event.mode as InvocationMode;
  }
  if ('httpMethod' in event && 'requestContext' in event) return 'http';
  if (event.version === '2.0' && isObject(event.requestContext) && 'http' in event.requestContext)
    return 'http';
  if ('detail-type' in event && 'source' in event && 'detail' in event) return 'eventbridge';
  return 'direct';
};

export const envelopeOf = (event: unknown): Envelope | undefined =>
  isObject(event) && isObject(event.envelope) && typeof event.mode === 'string'
    ? (event.envelope as unknown as Envelope)
    : undefined;

export { isObject };
