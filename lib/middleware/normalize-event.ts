import * as z from 'zod/mini';
import { type FieldIssue, validationFailed } from '../errors.ts';
import { eventBridgeEvent, httpApiParts, onFirstParse, restApiParts } from '../events/aws-event-shapes.ts';
import { CALLER_FIELD, callerOf } from '../events/caller.ts';
import { logger } from '../logger.ts';
import type { ProviderId } from '../providers/types.ts';
import { ROTATION_STEPS } from '../rotation/native.ts';
import { isObject, type ResetMiddleware, type RotationEvent } from './invocation.ts';

const REQUEST_DETAIL_TYPE = 'Cluster Password Reset Requested';
export const REQUEST_SOURCE = 'cluster-password-reset';
export const MAX_BODY_BYTES = 16 * 1024;

/** Fields an HTTP caller may put in the body; the rest come from the path and headers. */
export const BODY_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'projectId',
  'account',
  'storePassword',
  'secretId',
  'dryRun',
]);

export interface NormalizeEventOptions {
  provider: ProviderId;
}

const fail = (field: string, rule: string): never => {
  throw validationFailed([{ field, rule }]);
};

interface HttpParts {
  headers: Record<string, string | undefined>;
  pathParameters: Record<string, string | undefined>;
  body: string | null | undefined;
  isBase64Encoded: boolean;
}

// What we read of API Gateway REST (v1) and HTTP API (v2) events: only the fields we use, so that
// the requestContext (authorizer, identity), which serverless-offline fills differently, is not
// parsed at all.
const httpParts = (event: unknown): HttpParts => {
  const parsed = (isObject(event) && event.version === '2.0' ? httpApiParts : restApiParts).safeParse(event);
  if (!parsed.success) return fail('(event)', 'is not a well-formed API Gateway event');
  const headers: Record<string, string | undefined> = {};
  // Header names are case-insensitive; by hand rather than @middy/http-header-normalizer, which
  // dereferences the event before we know it is an object.
  for (const [name, value] of Object.entries(parsed.data.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    headers,
    pathParameters: parsed.data.pathParameters ?? {},
    body: parsed.data.body,
    isBase64Encoded: parsed.data.isBase64Encoded ?? false,
  };
};

const httpInput = (event: unknown, provider: ProviderId): Record<string, unknown> => {
  const { headers, pathParameters, body, isBase64Encoded } = httpParts(event);
  const raw = body ? Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  if (raw.byteLength > MAX_BODY_BYTES) fail('body', `must be at most ${MAX_BODY_BYTES} bytes`);
  let fields: Record<string, unknown> = {};
  if (raw.byteLength > 0) {
    const contentType = headers['content-type'];
    if (contentType !== undefined && !/^application\/json\s*(;|$)/i.test(contentType)) {
      fail('content-type', 'must be application/json');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      fail('body', 'must be valid JSON');
    }
    if (!isObject(parsed)) fail('body', 'must be a JSON object');
    fields = parsed as Record<string, unknown>;
  }
  const misplaced: FieldIssue[] = Object.keys(fields)
    .filter((key) => !BODY_FIELDS.has(key))
    .map((key) => ({
      field: key,
      rule: 'is not accepted in the body (region and clusterId come from the path, idempotencyKey from the Idempotency-Key header)',
    }));
  if (misplaced.length > 0) throw validationFailed(misplaced);
  const input: Record<string, unknown> = {
    ...fields,
    provider,
    region: pathParameters.region,
    clusterId: pathParameters.clusterId,
  };
  const idempotencyKey = headers['idempotency-key'];
  if (idempotencyKey !== undefined) input.idempotencyKey = idempotencyKey;
  return input;
};

const eventBridgeInput = (event: unknown): Record<string, unknown> => {
  const parsed = eventBridgeEvent.safeParse(event);
  if (!parsed.success) return fail('(event)', 'is not a well-formed EventBridge event');
  if (parsed.data['detail-type'] !== REQUEST_DETAIL_TYPE) {
    fail('detail-type', `must be "${REQUEST_DETAIL_TYPE}"`);
  }
  if (!isObject(parsed.data.detail)) return fail('detail', 'must be a JSON object');
  // The event id makes EventBridge's own redeliveries converge on one rotation.
  return { idempotencyKey: parsed.data.id, ...parsed.data.detail };
};

// Secrets Manager's rotation event, as its rotation-function contract gives it: nothing else.
const rotationEventSchema = onFirstParse(() =>
  z.strictObject({
    Step: z.enum(ROTATION_STEPS, { error: `must be one of ${ROTATION_STEPS.join(', ')}` }),
    SecretId: z
      .string({ error: 'must be a string' })
      .check(z.regex(/^[A-Za-z0-9/_+=.@:-]{1,2048}$/, { error: 'must be a secret name or ARN' })),
    // Secrets Manager's ClientRequestToken: 32 to 64 characters.
    ClientRequestToken: z
      .string({ error: 'must be a string' })
      .check(z.regex(/^[A-Za-z0-9-]{32,64}$/, { error: 'must be 32-64 letters, digits or "-"' })),
    RotationToken: z.optional(
      z
        .string({ error: 'must be a string' })
        .check(z.regex(/^[A-Za-z0-9-]{1,256}$/, { error: 'must be 1-256 letters, digits or "-"' })),
    ),
  }),
);

const rotationEvent = (event: unknown): RotationEvent => {
  const parsed = rotationEventSchema.safeParse(event);
  if (!parsed.success) {
    throw validationFailed(
      parsed.error.issues.flatMap((issue): FieldIssue[] =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ field: key, rule: 'is not a field of a rotation event' }))
          : [{ field: issue.path.map(String).join('.') || '(event)', rule: issue.message }],
      ),
    );
  }
  const { Step, SecretId, ClientRequestToken, RotationToken } = parsed.data;
  return {
    step: Step,
    secretId: SecretId,
    token: ClientRequestToken,
    ...(RotationToken === undefined ? {} : { rotationToken: RotationToken }),
  };
};

/** A direct payload's envelope fields: all of it but the `caller` it may name itself with. */
const directInput = (payload: Record<string, unknown>): Record<string, unknown> => {
  const { [CALLER_FIELD]: _, ...fields } = payload;
  return fields;
};

/**
 * Turns an API Gateway, EventBridge or direct (Step Functions, schedule, SDK) invocation into the
 * envelope's fields as sent (`internal.input`), by the mode invocationMode decided; a Secrets
 * Manager rotation event into the step it asks for (`internal.rotation`). First of all, who asked
 * (`internal.caller`), which every later log line of the invocation carries.
 */
export const normalizeEvent = (options: NormalizeEventOptions): ResetMiddleware => ({
  before: (request) => {
    const mode = request.internal.mode ?? 'direct';
    const { caller, callerVerified } = callerOf(mode, request.event);
    request.internal.caller = caller;
    request.internal.callerVerified = callerVerified;
    logger.appendKeys({ caller, callerVerified });
    if (mode === 'http') request.internal.input = httpInput(request.event, options.provider);
    else if (mode === 'eventbridge') request.internal.input = eventBridgeInput(request.event);
    // The envelope's fields come from the secret's identity tags (rotation-secret), not the event.
    else if (mode === 'rotation') request.internal.rotation = rotationEvent(request.event);
    else if (isObject(request.event)) request.internal.input = directInput(request.event);
    else fail('(input)', 'must be a JSON object');
  },
});
