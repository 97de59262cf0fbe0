import * as z from 'zod/mini';

// The few fields of AWS's event shapes this project reads, as Powertools' parser declares them
// (same types, nullability and required keys: API Gateway REST and HTTP API proxy events, and the
// EventBridge envelope). Declared here with zod/mini rather than imported from
// @aws-lambda-powertools/parser, whose schemas pull the whole classic zod API (its locales and
// JSON Schema converters, 445 KB of a 1.36 MB bundle) into every handler: measured with
// `npm run bench`, see docs/performance.md.

/**
 * A schema built on its first parse, not at import: a cold start that answers a direct
 * invocation (a Step Functions dry run) parses none of these, and building them was a
 * measurable part of it (zod/mini builds each schema eagerly; docs/performance.md).
 */
export const onFirstParse = <S extends z.ZodMiniType>(build: () => S) => {
  let schema: S | undefined;
  return {
    safeParse: (value: unknown) => {
      schema ??= build();
      return schema.safeParse(value);
    },
  };
};

const stringRecord = () => z.record(z.string(), z.string());

/** API Gateway REST API (v1) proxy event: the fields we read. */
export const restApiParts = onFirstParse(() =>
  z.object({
    headers: z.nullish(stringRecord()),
    pathParameters: z.nullish(stringRecord()),
    body: z.nullable(z.string()),
    isBase64Encoded: z.boolean(),
  }),
);

/** API Gateway HTTP API (v2) event: the fields we read. */
export const httpApiParts = onFirstParse(() =>
  z.object({
    headers: stringRecord(),
    pathParameters: z.nullish(stringRecord()),
    body: z.optional(z.string()),
    isBase64Encoded: z.boolean(),
  }),
);

/** An EventBridge event as a rule's target receives it. */
export const eventBridgeEvent = onFirstParse(() =>
  z.object({
    version: z.string(),
    id: z.string(),
    source: z.string(),
    account: z.string(),
    time: z.iso.datetime(),
    region: z.string(),
    resources: z.array(z.string()),
    'detail-type': z.string(),
    detail: z.unknown(),
    'replay-name': z.optional(z.string()),
  }),
);

// Who sent the event, read apart from the parts above and never required, so that an identity
// AWS (or serverless-offline, which fills the requestContext its own way) leaves out never fails
// a request: see caller.ts.

/** The IAM identity that signed a REST API (v1) request (`AWS_IAM` authorization). */
export const restApiSigner = onFirstParse(() =>
  z.object({
    requestContext: z.object({ identity: z.object({ userArn: z.nullish(z.string()) }) }),
  }),
);

/** The IAM identity that signed an HTTP API (v2) request (IAM authorization). */
export const httpApiSigner = onFirstParse(() =>
  z.object({
    requestContext: z.object({
      authorizer: z.object({ iam: z.object({ userArn: z.nullish(z.string()) }) }),
    }),
  }),
);

/** The sender of an EventBridge event. */
export const eventBridgeSender = onFirstParse(() => z.object({ source: z.string(), account: z.string() }));
