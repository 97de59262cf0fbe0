import type { ErrorCode, ErrorDetails } from '../errors.ts';
import { containsSecret, foreignText } from '../redact.ts';
import { type ProviderResponse, retryAfterSeconds } from './http.ts';

// Provider error bodies are foreign input: any field may be missing, nested differently, a number
// where a string was documented, or the body may not be JSON at all. These helpers read them
// without trusting their shape, for every provider's error mapping.

/** `value[key]` when value is an object, else undefined. */
export const field = (value: unknown, key: string): unknown =>
  value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;

/** A string or number as text; anything else (objects, booleans, null) as undefined. */
export const asText = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;

/** The first of the candidates that reads as non-empty text. */
export const firstText = (...candidates: unknown[]): string | undefined => {
  for (const candidate of candidates) {
    const text = asText(candidate)?.trim();
    if (text) return text;
  }
  return undefined;
};

/** The body itself when it is not JSON (a gateway's text/plain or HTML page), else undefined. */
export const plainTextBody = (response: ProviderResponse): string | undefined =>
  response.json === undefined ? response.text.trim() || undefined : undefined;

// A provider's code is echoed to callers as `providerCode` and may pick an error mapping: only a
// short token that holds no secret is worth that; anything else is the provider echoing input.
const PROVIDER_CODE = /^[A-Za-z0-9._:-]{1,40}$/;

/** The provider's code when it is a plain token that holds no secret, else undefined. */
export const providerCodeText = (
  code: string | undefined,
  secrets: ReadonlyArray<string | undefined>,
): string | undefined =>
  code !== undefined && PROVIDER_CODE.test(code) && !containsSecret(code, secrets) ? code : undefined;

/**
 * Our summary, with the provider's message after it when it holds no secret in any form. Where
 * the provider's text is doubtful its code and status are kept (in the details) and its text is
 * dropped whole: cutting out what we recognise would keep what we do not.
 */
export const withProviderMessage = (
  summary: string,
  providerMessage: string | undefined,
  secrets: ReadonlyArray<string | undefined>,
): string => {
  if (providerMessage === undefined) return summary;
  const text = foreignText(providerMessage, secrets);
  return text === undefined
    ? `${summary} (the provider's message was withheld: it echoed request data)`
    : `${summary}: ${text}`;
};

/** What an HTTP status means when the provider's own code does not say more. */
export const codeForHttpStatus = (status: number): ErrorCode => {
  if (status === 401 || status === 403) return 'PROVIDER_AUTH_FAILED';
  if (status === 404) return 'CLUSTER_NOT_FOUND';
  if (status === 409) return 'CLUSTER_STATE_CONFLICT';
  if (status === 429) return 'PROVIDER_THROTTLED';
  if (status >= 500) return 'PROVIDER_UNAVAILABLE';
  return 'PROVIDER_REJECTED';
};

/** The ResetError details every provider reports: its status, its code, and any Retry-After. */
export const providerErrorDetails = (
  response: ProviderResponse,
  providerCode: string | undefined,
): ErrorDetails => {
  const details: ErrorDetails = { providerStatus: response.status };
  if (providerCode !== undefined) details.providerCode = providerCode;
  const retryAfter = retryAfterSeconds(response.headers);
  if (retryAfter !== undefined) details.retryAfterSeconds = retryAfter;
  return details;
};
