import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as z from 'zod/mini';
import {
  errorCodesByStatus,
  failureResultSchema,
  fieldIssueSchema,
  passwordReportSchema,
  preparedRequestSchema,
  successResultSchema,
} from '../lib/api/result-schema.ts';
import { readConfig } from '../lib/config.ts';
import { envelopeSchema } from '../lib/envelope.ts';
import { ERROR_CODES } from '../lib/errors.ts';
import { BODY_FIELDS } from '../lib/middleware/normalize-event.ts';
import type { PasswordPolicy } from '../lib/password/policy.ts';
import { PROVIDERS } from '../lib/providers/registry.ts';
import type { ProviderDefinition } from '../lib/providers/types.ts';

// Writes openapi.json, the OpenAPI 3.1 description of the HTTP routes, from the code itself: the
// routes of the providers' functions (deploy/functions.cjs, from the registry); path
// parameters, header and body from each provider's envelope schema (lib/envelope.ts); answers from
// the result schemas (lib/api/result-schema.ts) and the error codes (lib/errors.ts). zod's own
// JSON Schema export does the conversion. tests/openapi checks that the committed file is current.
//   npm run openapi

const ROOT = new URL('../', import.meta.url);
export const OPENAPI_FILE = new URL('openapi.json', ROOT);

type Json = Record<string, unknown>;

// The route of each provider's function, as deploy/provider-stack.cjs deploys it (POST, AWS_IAM).
const { FUNCTIONS_BY_PROVIDER } = createRequire(import.meta.url)('../deploy/functions.cjs') as {
  FUNCTIONS_BY_PROVIDER: Record<string, { path: string; name: string }>;
};

/** Each provider of the registry with its one route (the path without its leading slash). */
export const providerRoutes = () =>
  PROVIDERS.map((provider) => {
    const deployed = FUNCTIONS_BY_PROVIDER[provider.id];
    if (!deployed) throw new Error(`deploy/functions.cjs has no function for ${provider.id}`);
    return { provider, route: { method: 'post', path: deployed.path, functionName: deployed.name } };
  });

// What the body fields mean; each body field must have an entry (a new field fails the generator).
const BODY_FIELD_DESCRIPTIONS: Record<string, (provider: ProviderDefinition) => string> = {
  password: (provider) =>
    `The new password; when absent, one is generated (CSPRNG) to the provider's rule. The rule: ${policyText(provider.passwordPolicy)}; a password that breaks it is PASSWORD_POLICY_VIOLATION.`,
  projectId: () =>
    "The project of the cluster; when absent, taken from the account's credentials for the region.",
  account: () =>
    "Which of the provider accounts the operators configured to use (default `default`); CREDENTIALS_UNAVAILABLE when this account's credentials cannot be used.",
  storePassword: () =>
    'Whether to keep the password in Secrets Manager; `false` only with a supplied password (a generated one is always stored).',
  secretId: (provider) =>
    `Where the password is kept: a secret name under \`{SECRET_PREFIX}/${provider.id}/\` (default \`{SECRET_PREFIX}/${provider.id}/{region}/{clusterId}\`; SECRET_PREFIX defaults to \`cluster-password-reset/{stage}\`).`,
  dryRun: () => 'Validate, load the credentials, build and sign the request, and send nothing.',
};

const policyText = (policy: PasswordPolicy): string => {
  const classes = policy.classes.map((cls) =>
    cls.name.startsWith('special') ? `${cls.name} (${cls.chars})` : cls.name,
  );
  const count = policy.minClasses === policy.classes.length ? 'each of' : `at least ${policy.minClasses} of`;
  const forbidden = policy.forbiddenValues?.length
    ? `; not ${policy.forbiddenValues.join(' nor ')} (in any case)`
    : '';
  return `${policy.minLength} to ${policy.maxLength} characters, ${count}: ${classes.join(', ')}, and no other character${forbidden}`;
};

// zod's JSON Schema, as the OpenAPI 3.1 dialect takes it inside a document: no `$schema` or
// `$id` per schema; the date-time format without its long pattern, integers without the
// safe-integer bounds zod adds.
const tidy = (ctx: { jsonSchema: Json }): void => {
  const schema = ctx.jsonSchema;
  if (schema.format === 'date-time') delete schema.pattern;
  if (schema.type === 'integer') {
    if (schema.minimum === Number.MIN_SAFE_INTEGER) delete schema.minimum;
    if (schema.maximum === Number.MAX_SAFE_INTEGER) delete schema.maximum;
  }
};

const embedded = (schema: Json): Json => {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
};

const inputSchema = (schema: z.core.$ZodType): Json =>
  embedded(z.toJSONSchema(schema, { io: 'input', override: tidy as never }) as Json);

/** A body field the envelope refuses for this provider (projectId of a provider without projects). */
const refused = (field: z.core.$ZodType): boolean =>
  field instanceof z.ZodMiniOptional && field.def.innerType instanceof z.ZodMiniUndefined;

/** The HTTP body: the envelope's body fields, strict as the envelope is. */
export const bodySchema = (envelope: ReturnType<typeof envelopeSchema>) => {
  const shape: Record<string, z.core.$ZodType | undefined> = envelope.shape;
  const mask: Record<string, true> = {};
  for (const field of BODY_FIELDS) {
    const fieldSchema = shape[field];
    if (!fieldSchema) throw new Error(`BODY_FIELDS names ${field}, which the envelope does not have`);
    if (!refused(fieldSchema)) mask[field] = true;
  }
  return z.pick(envelope, mask as never);
};

const ref = (id: string): Json => ({ $ref: `#/components/schemas/${id}` });

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request',
  404: 'Unknown cluster',
  409: 'Cluster busy, or another rotation in progress',
  412: 'The cluster does not meet a precondition',
  422: 'The provider refused the request',
  429: 'The provider throttled the request',
  500: 'Internal, credentials or secret store failure',
  502: 'The provider refused our credentials',
  503: 'The provider is unavailable',
};

// API Gateway's own answer when it refuses a request before the function runs (no or a bad
// signature, a caller without execute-api:Invoke).
const gatewayErrorSchema = z.object({ message: z.string() });

/** The result schemas under their component names: shared parts, the success, the failure per status. */
const resultComponents = (): Json => {
  const registry = z.registry<{ id: string }>();
  registry.add(fieldIssueSchema, { id: 'FieldIssue' });
  registry.add(passwordReportSchema, { id: 'PasswordReport' });
  registry.add(preparedRequestSchema, { id: 'PreparedRequest' });
  registry.add(successResultSchema, { id: 'SuccessResult' });
  for (const [status, codes] of errorCodesByStatus()) {
    registry.add(failureResultSchema(codes), { id: `FailureResult${status}` });
  }
  registry.add(gatewayErrorSchema, { id: 'GatewayError' });
  const { schemas } = z.toJSONSchema(registry, {
    uri: (id) => `#/components/schemas/${id}`,
    override: tidy as never,
  });
  return Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, embedded(schema as Json)]));
};

const jsonContent = (schema: Json) => ({ 'application/json': { schema } });

const errorResponses = (): Json =>
  Object.fromEntries(
    [...errorCodesByStatus()].map(([status, codes]) => [
      String(status),
      {
        description: `${STATUS_TEXT[status] ?? 'Error'}: ${codes
          .map((code) => `${code}${ERROR_CODES[code].retryable ? ' (retryable)' : ''}`)
          .join(', ')}.`,
        content: jsonContent(ref(`FailureResult${status}`)),
      },
    ]),
  );

const operation = (
  provider: ProviderDefinition,
  functionName: string,
  config: ReturnType<typeof readConfig>,
): Json => {
  const envelope = envelopeSchema(provider, config);
  const body = inputSchema(bodySchema(envelope));
  const properties = body.properties as Record<string, Json>;
  for (const [field, schema] of Object.entries(properties)) {
    const describe = BODY_FIELD_DESCRIPTIONS[field];
    if (!describe) throw new Error(`no description for the body field ${field}`);
    schema.description = describe(provider);
  }
  const regionsNote =
    "The regions of the default configuration; a deployment's settings may admit others (docs/calling-it.md).";
  return {
    operationId: functionName,
    summary: `${provider.id}: ${provider.operation}`,
    description: `Resets the password of a cluster (${provider.id}, ${provider.operation}) and keeps it in Secrets Manager. The answer is the normalized result, with the HTTP status of its error code.`,
    tags: [provider.id],
    parameters: [
      {
        name: 'region',
        in: 'path',
        required: true,
        description: regionsNote,
        schema: inputSchema(envelope.shape.region),
      },
      {
        name: 'clusterId',
        in: 'path',
        required: true,
        description: "The provider's cluster id.",
        schema: inputSchema(provider.clusterId),
      },
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Retries with the same key converge on one rotation and get the same answer; the same key with another request is VALIDATION_FAILED.',
        schema: inputSchema(envelope.shape.idempotencyKey.def.innerType),
      },
    ],
    requestBody: {
      required: false,
      description: 'All fields optional; an empty body is an empty object. At most 16 KiB of JSON.',
      content: jsonContent(body),
    },
    responses: {
      200: {
        description: 'The password was reset (or, for a dry run, the request was built).',
        content: jsonContent(ref('SuccessResult')),
      },
      403: {
        description:
          "API Gateway's refusal, before the function runs: no or a bad SigV4 signature, or a caller without execute-api:Invoke on the route.",
        content: jsonContent(ref('GatewayError')),
      },
      ...errorResponses(),
    },
  };
};

export interface OpenApiInputs {
  version: string;
}

export const readOpenApiInputs = (): OpenApiInputs => ({
  version: (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string }).version,
});

/** The OpenAPI 3.1 document. Pure: the default configuration, never this process's environment. */
export const openApiDocument = ({ version }: OpenApiInputs): Json => {
  const config = readConfig({});
  const paths: Json = {};
  for (const { provider, route } of providerRoutes()) {
    paths[`/${route.path}`] = { [route.method]: operation(provider, route.functionName, config) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cluster-password-reset',
      version,
      description:
        'Resets the admin passwords of managed clusters in third-party clouds and keeps them in AWS Secrets Manager. Every route is signed with AWS Signature Version 4 (API Gateway AWS_IAM authorization). Generated by `npm run openapi` from the zod schemas; do not edit by hand.',
    },
    servers: [
      {
        url: 'https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}',
        description: 'The ServiceEndpoint that `serverless info --stage prod` prints.',
        variables: {
          restApiId: { default: 'abcdef1234', description: 'The REST API id.' },
          region: { default: 'eu-central-1' },
          stage: { default: 'prod' },
        },
      },
    ],
    security: [{ sigv4: [] }],
    tags: PROVIDERS.map((provider) => ({ name: provider.id })),
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description:
            'AWS Signature Version 4 for the service `execute-api` (API Gateway AWS_IAM authorization): the caller needs execute-api:Invoke on the route. Temporary credentials also send X-Amz-Security-Token.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
      schemas: resultComponents(),
    },
  };
};

export const renderOpenApi = (document: unknown): string => `${JSON.stringify(document, null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = fileURLToPath(OPENAPI_FILE);
  writeFileSync(file, renderOpenApi(openApiDocument(readOpenApiInputs())));
  // Formatted as `biome check` wants it (the test compares the content, not the layout).
  execFileSync(fileURLToPath(new URL('node_modules/.bin/biome', ROOT)), ['format', '--write', file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.stdout.write(`wrote ${file}\n`);
}
