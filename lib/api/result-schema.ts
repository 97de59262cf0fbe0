import * as z from 'zod/mini';
import { ERROR_CODES, type ErrorCode, type ErrorReport, type FieldIssue } from '../errors.ts';
import type { ClusterState, PreparedRequest } from '../providers/types.ts';
import type { FailureResult, NormalizedResult, PasswordReport, Preflight, SuccessResult } from '../result.ts';

// The normalized result (lib/result.ts) as zod schemas, for the OpenAPI document
// (scripts/openapi.ts) and the tests only: no handler imports this module, so the runtime bundles
// do not carry it. The checks at the end keep these schemas and result.ts's types identical.

const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

const CLUSTER_STATES = ['ready', 'changing', 'error'] as const;

const errorCodeSchema = (codes: readonly [ErrorCode, ...ErrorCode[]] = ERROR_CODE_LIST) =>
  z.enum(codes).check(z.describe('The error code; its HTTP status is fixed by the code.'));

export const fieldIssueSchema = z.object({
  field: z.string().check(z.describe('The field (or `body`, `content-type`, `(input)`) that broke a rule.')),
  rule: z.string().check(z.describe('The rule it broke, never quoting the value.')),
});

const errorReportSchema = (codes: readonly [ErrorCode, ...ErrorCode[]] = ERROR_CODE_LIST) =>
  z.object({
    code: errorCodeSchema(codes),
    message: z.string().check(z.describe('Safe to show a caller; never holds a secret.')),
    retryable: z.boolean().check(z.describe('Whether the same request may succeed later.')),
    providerStatus: z.optional(
      z.int().check(z.describe("The provider's HTTP status, when the provider answered.")),
    ),
    providerCode: z.optional(
      z.string().check(z.describe("The provider's own error code, when it gave one.")),
    ),
    fields: z.optional(
      z.array(fieldIssueSchema).check(z.describe('VALIDATION_FAILED: each field and the rule it broke.')),
    ),
  });

export const passwordReportSchema = z.object({
  source: z.enum(['generated', 'supplied']),
  stored: z.boolean().check(z.describe('Whether the password was kept in Secrets Manager.')),
  secretArn: z.optional(z.string()),
  versionId: z.optional(z.string()),
});

const clusterStateSchema = z
  .enum(CLUSTER_STATES)
  .check(
    z.describe(
      "The cluster's state when the handler stopped waiting for it to settle after the reset, in the same words for every provider.",
    ),
  );

export const preparedRequestSchema = z
  .object({
    method: z.string(),
    url: z.string(),
    signedHeaders: z.array(z.string()),
  })
  .check(
    z.describe('Dry run only: the request that would have been sent (signed, not sent; no secret in it).'),
  );

export const preflightSchema = z
  .object({
    idempotencyKey: z.enum(['unused', 'bound-to-this-request']),
    cluster: z.literal('ready'),
    secret: z.enum(['exists', 'to-be-created', 'not-used']),
  })
  .check(
    z.describe(
      "Dry run only: what the preflight checked, read-only, as a real run checks it first: the key is new or bound to this request, the provider found the cluster ready, and the secret exists (as this cluster's), will be created, or is not used.",
    ),
  );

const resultBase = {
  provider: z.string().check(z.describe('The provider id, e.g. `otc-css`.')),
  operation: z.string().check(z.describe('The operation, e.g. `reset-admin-password`.')),
  region: z.optional(z.string()),
  clusterId: z.optional(z.string()),
  dryRun: z.boolean(),
  requestId: z.string().check(z.describe("The Lambda request id (the key to the function's logs).")),
  idempotencyKey: z.optional(z.string()),
  completedAt: z.iso.datetime().check(z.describe('When the handler answered (ISO 8601, UTC).')),
};

export const successResultSchema = z.object({
  ok: z.literal(true),
  ...resultBase,
  password: passwordReportSchema,
  providerRequestId: z.optional(z.string().check(z.describe("The provider's id of the reset request."))),
  clusterState: z.optional(clusterStateSchema),
  request: z.optional(preparedRequestSchema),
  preflight: z.optional(preflightSchema),
});

export const failureResultSchema = (codes: readonly [ErrorCode, ...ErrorCode[]] = ERROR_CODE_LIST) =>
  z.object({ ok: z.literal(false), ...resultBase, error: errorReportSchema(codes) });

const normalizedResultSchema = z.discriminatedUnion('ok', [successResultSchema, failureResultSchema()]);

/** The error codes answered with each HTTP status, from lib/errors.ts. */
export const errorCodesByStatus = (): ReadonlyMap<number, readonly [ErrorCode, ...ErrorCode[]]> => {
  const byStatus = new Map<number, [ErrorCode, ...ErrorCode[]]>();
  for (const code of ERROR_CODE_LIST) {
    const status = ERROR_CODES[code].httpStatus;
    const codes = byStatus.get(status);
    if (codes) codes.push(code);
    else byStatus.set(status, [code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
};

// Type-level checks: each schema's output is exactly the type that lib/result.ts declares (same
// keys, same optionality, same value types), so that neither can change without the other.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(check: Same<A, B>): Same<A, B> => check;

same<z.output<typeof fieldIssueSchema>, FieldIssue>(true);
same<z.output<ReturnType<typeof errorCodeSchema>>, ErrorCode>(true);
same<z.output<ReturnType<typeof errorReportSchema>>, ErrorReport>(true);
same<z.output<typeof passwordReportSchema>, PasswordReport>(true);
same<z.output<typeof clusterStateSchema>, ClusterState>(true);
same<z.output<typeof preparedRequestSchema>, PreparedRequest>(true);
same<z.output<typeof preflightSchema>, Preflight>(true);
same<z.output<typeof successResultSchema>, SuccessResult>(true);
same<z.output<ReturnType<typeof failureResultSchema>>, FailureResult>(true);
same<z.output<typeof normalizedResultSchema>, NormalizedResult>(true);
