import * as z from 'zod/mini';
import type { Config } from './config.ts';
import { type FieldIssue, validationFailed } from './errors.ts';
import type { ProviderDefinition } from './providers/types.ts';

const ACCOUNT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** The strict schema of one provider's envelope; unknown fields are errors, not ignored. */
export const envelopeSchema = (provider: ProviderDefinition, config: Config) => {
  const regions = provider.regions(config);
  const secretRoot = `${config.secretPrefix}/${provider.id}/`;
  const shape = {
    provider: z.optional(z.literal(provider.id, { error: `must be "${provider.id}" for this handler` })),
    region: z.enum(regions, { error: `must be one of ${regions.join(', ')}` }),
    clusterId: provider.clusterId,
    account: z._default(
      z
        .string({ error: 'must be a string' })
        .check(z.regex(ACCOUNT_PATTERN, { error: 'must be 1-64 letters, digits, ".", "_" or "-"' })),
      'default',
    ),
    password: z.optional(
      z.string({ error: 'must be a string' }).check(z.minLength(1, { error: 'must not be empty' })),
    ),
    storePassword: z._default(z.boolean({ error: 'must be true or false' }), true),
    secretId: z.optional(
      z.string({ error: 'must be a string' }).check(
        z.regex(SECRET_NAME_PATTERN, { error: 'must be a Secrets Manager secret name' }),
        // The handler's IAM role reaches only this provider's subtree of the secret prefix.
        z.refine((name) => name.startsWith(secretRoot) && !name.split('/').includes('..'), {
          error: `must name a secret under "${secretRoot}"`,
        }),
      ),
    ),
    dryRun: z._default(z.boolean({ error: 'must be true or false' }), false),
    idempotencyKey: z.optional(
      z
        .string({ error: 'must be a string' })
        .check(
          z.regex(IDEMPOTENCY_KEY_PATTERN, { error: 'must be 1-128 letters, digits, ".", "_", ":" or "-"' }),
        ),
    ),
  };
  // One shape for every provider, so that the envelope's type is the schema's: a provider without
  // project scopes refuses the field as unknown.
  const projectId = provider.projectId
    ? z.optional(provider.projectId)
    : z.optional(z.undefined({ error: 'is not a field of this request' }));
  return z.strictObject({ ...shape, projectId }, { error: 'must be a JSON object' });
};

/** The request envelope, after validation and defaults: what the schema parses to. */
export type Envelope = z.output<ReturnType<typeof envelopeSchema>>;

const valueAt = (input: unknown, path: ReadonlyArray<PropertyKey>): unknown =>
  path.reduce<unknown>(
    (value, key) => (value !== null && typeof value === 'object' ? (value as never)[key] : undefined),
    input,
  );

/** zod issues as `{ field, rule }`, one per field, never quoting the value. */
const fieldIssues = (error: z.core.$ZodError, input: unknown): FieldIssue[] => {
  const fields: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields.push({ field: key, rule: 'is not a field of this request' });
      continue;
    }
    const field = issue.path.map(String).join('.') || '(input)';
    const missing = issue.path.length > 0 && valueAt(input, issue.path) === undefined;
    fields.push({ field, rule: missing ? 'is required' : issue.message });
  }
  return fields;
};

export const parseEnvelope = (schema: ReturnType<typeof envelopeSchema>, input: unknown): Envelope => {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationFailed(fieldIssues(parsed.error, input));
  return parsed.data;
};
