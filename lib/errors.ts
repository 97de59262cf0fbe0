import { definedOnly } from './defined.ts';

// The product's error codes (docs/calling-it.md). Each error's `name` is the code in PascalCase: Lambda reports
// `error.name` as the errorType, which is what Step Functions `Retry` and `Catch` match.

export const ERROR_CODES = {
  VALIDATION_FAILED: { httpStatus: 400, name: 'ValidationFailed', retryable: false },
  PASSWORD_POLICY_VIOLATION: { httpStatus: 400, name: 'PasswordPolicyViolation', retryable: false },
  CREDENTIALS_UNAVAILABLE: { httpStatus: 500, name: 'CredentialsUnavailable', retryable: false },
  PROVIDER_AUTH_FAILED: { httpStatus: 502, name: 'ProviderAuthFailed', retryable: false },
  CLUSTER_NOT_FOUND: { httpStatus: 404, name: 'ClusterNotFound', retryable: false },
  CLUSTER_STATE_CONFLICT: { httpStatus: 409, name: 'ClusterStateConflict', retryable: true },
  PRECONDITION_FAILED: { httpStatus: 412, name: 'PreconditionFailed', retryable: false },
  PROVIDER_REJECTED: { httpStatus: 422, name: 'ProviderRejected', retryable: false },
  PROVIDER_THROTTLED: { httpStatus: 429, name: 'ProviderThrottled', retryable: true },
  PROVIDER_UNAVAILABLE: { httpStatus: 503, name: 'ProviderUnavailable', retryable: true },
  ROTATION_IN_PROGRESS: { httpStatus: 409, name: 'RotationInProgress', retryable: true },
  SECRET_STORE_FAILED: { httpStatus: 500, name: 'SecretStoreFailed', retryable: true },
  INTERNAL: { httpStatus: 500, name: 'InternalError', retryable: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldIssue {
  field: string;
  rule: string;
}

export interface ErrorDetails {
  providerStatus?: number;
  providerCode?: string;
  fields?: FieldIssue[];
  /** Seconds the provider asked us to wait (Retry-After). */
  retryAfterSeconds?: number;
  /** Answered again from a key's record: not a new attempt (no outcome event). */
  replayed?: boolean;
  cause?: unknown;
}

/** An error as a result reports it (the normalized result's `error`, a key's recorded failure). */
export interface ErrorReport {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  providerStatus?: number;
  providerCode?: string;
  fields?: FieldIssue[];
}

/** The one error type the product throws on purpose. Its message is safe to show a caller. */
export class ResetError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly providerStatus?: number;
  readonly providerCode?: string;
  readonly fields?: FieldIssue[];
  readonly retryAfterSeconds?: number;
  readonly replayed: boolean;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    const spec = ERROR_CODES[code];
    this.name = spec.name;
    this.code = code;
    this.httpStatus = spec.httpStatus;
    this.retryable = spec.retryable;
    const { providerStatus, providerCode, fields, retryAfterSeconds } = details;
    Object.assign(this, definedOnly({ providerStatus, providerCode, fields, retryAfterSeconds }));
    this.replayed = details.replayed ?? false;
  }
}

/** The error as the normalized result reports it (no cause, no stack). */
export const errorReport = (error: ResetError): ErrorReport => ({
  code: error.code,
  message: error.message,
  retryable: error.retryable,
  ...definedOnly({
    providerStatus: error.providerStatus,
    providerCode: error.providerCode,
    fields: error.fields,
  }),
});

export const isResetError = (error: unknown): error is ResetError => error instanceof ResetError;

const MAX_FIELD_NAME = 64;

/**
 * A field name as it can be shown: unknown fields are named by the caller, so a name that is not
 * a plain identifier is quoted (which also escapes control characters) and a long one is cut.
 */
const displayFieldName = (field: string): string => {
  const cut = field.length > MAX_FIELD_NAME ? `${field.slice(0, MAX_FIELD_NAME)}…` : field;
  return /^[A-Za-z0-9_.()-]+$/.test(cut) ? cut : JSON.stringify(cut);
};

export const validationFailed = (fields: FieldIssue[]): ResetError => {
  const shown = fields.map((issue) => ({ ...issue, field: displayFieldName(issue.field) }));
  return new ResetError(
    'VALIDATION_FAILED',
    `Invalid request: ${shown.map((issue) => `${issue.field} ${issue.rule}`).join('; ')}`,
    { fields: shown },
  );
};
