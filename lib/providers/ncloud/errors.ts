import { type ErrorCode, ResetError } from '../../errors.ts';
import { redactSecrets } from '../../redact.ts';
import { type ProviderResponse, retryAfterSeconds } from '../http.ts';

// NCP answers errors as {"error":{"errorCode","message","details"}}, but errorCode may be a
// number or a string and the body may be text/plain: read it defensively.

const codeForStatus = (status: number): ErrorCode => {
  if (status === 401 || status === 403) return 'PROVIDER_AUTH_FAILED';
  if (status === 404) return 'CLUSTER_NOT_FOUND';
  if (status === 409) return 'CLUSTER_STATE_CONFLICT';
  if (status === 429) return 'PROVIDER_THROTTLED';
  if (status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'PROVIDER_REJECTED';
};

const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

const asText = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;

export const ncloudRequestId = (response: ProviderResponse): string | undefined =>
  asText(field(response.json, 'requestId')) ?? response.headers.get('x-ncp-trace-id') ?? undefined;

/** A failed answer (non-2xx, or 2xx without `result: true`) as a ResetError. */
export const ncloudError = (response: ProviderResponse, secrets: ReadonlyArray<string>): ResetError => {
  const error = field(response.json, 'error');
  const providerCode = asText(field(error, 'errorCode')) ?? asText(field(response.json, 'code'));
  const providerMessage =
    asText(field(error, 'message')) ??
    asText(field(response.json, 'message')) ??
    (response.json === undefined ? response.text.trim() : undefined);
  const ok2xx = response.status >= 200 && response.status < 300;
  const code = ok2xx ? 'PROVIDER_REJECTED' : codeForStatus(response.status);
  const summary = ok2xx
    ? 'Naver Cloud did not confirm the password reset (result was not true)'
    : `Naver Cloud answered HTTP ${response.status}`;
  const message = providerMessage ? `${summary}: ${redactSecrets(providerMessage, secrets)}` : summary;
  const details: ConstructorParameters<typeof ResetError>[2] = { providerStatus: response.status };
  if (providerCode !== undefined) details.providerCode = providerCode;
  const retryAfter = retryAfterSeconds(response.headers);
  if (retryAfter !== undefined) details.retryAfterSeconds = retryAfter;
  return new ResetError(code, message, details);
};
