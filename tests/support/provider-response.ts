import type { ProviderResponse } from '../../lib/providers/http.ts';

/** A provider answer as sendProviderRequest returns it; a string body is sent as is (maybe not JSON). */
export const providerResponse = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ProviderResponse => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers: new Headers(headers), text, json };
};
