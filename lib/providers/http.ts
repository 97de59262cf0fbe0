import { ResetError } from '../errors.ts';

// Provider HTTP over Node's own fetch: a timeout on every request, and a cap on how much of an
// answer we read, so that neither a slow nor a huge answer can hold the function.

const MAX_PROVIDER_RESPONSE_BYTES = 64 * 1024;

interface ProviderRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface ProviderResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

const readCapped = async (response: Response, maxBytes: number): Promise<string> => {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
};

const parseJson = (text: string): unknown => {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
};

export const sendProviderRequest = async (
  providerName: string,
  request: ProviderRequest,
): Promise<ProviderResponse> => {
  const init: RequestInit = {
    method: request.method,
    headers: request.headers,
    signal: AbortSignal.timeout(request.timeoutMs),
    redirect: 'error',
  };
  if (request.body !== undefined) init.body = request.body;
  try {
    const response = await fetch(request.url, init);
    const text = await readCapped(response, MAX_PROVIDER_RESPONSE_BYTES);
    return { status: response.status, headers: response.headers, text, json: parseJson(text) };
  } catch (error) {
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    throw new ResetError(
      'PROVIDER_UNAVAILABLE',
      timedOut
        ? `${providerName} did not answer within ${request.timeoutMs} ms`
        : `${providerName} could not be reached`,
      { cause: error },
    );
  }
};

/** Seconds from a Retry-After header (delta-seconds form only). */
export const retryAfterSeconds = (headers: Headers): number | undefined => {
  const value = headers.get('retry-after');
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim());
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Per-request timeout that also fits in what is left before the deadline. */
export const timeoutWithin = (timeoutMs: number, deadline: number): number =>
  Math.max(1, Math.min(timeoutMs, deadline - Date.now()));
