import { ResetError } from '../../errors.ts';
import type { ProviderResponse } from '../http.ts';
import {
  asText,
  codeForHttpStatus,
  field,
  firstText,
  plainTextBody,
  providerCodeText,
  providerErrorDetails,
  withProviderMessage,
} from '../response-fields.ts';

// NCP answers errors as {"error":{"errorCode","message","details"}}, but errorCode may be a
// number or a string and the body may be text/plain: read it defensively.

export const ncloudRequestId = (response: ProviderResponse): string | undefined =>
  asText(field(response.json, 'requestId')) ?? response.headers.get('x-ncp-trace-id') ?? undefined;

/** The answer's errorCode, unless it is not a plain code or holds one of `secrets`. */
export const ncloudErrorCode = (
  response: ProviderResponse,
  secrets: ReadonlyArray<string>,
): string | undefined =>
  providerCodeText(
    firstText(field(field(response.json, 'error'), 'errorCode'), field(response.json, 'code')),
    secrets,
  );

/** A failed answer (non-2xx, or 2xx without `result: true`) as a ResetError; `secrets` never show in it. */
export const ncloudError = (response: ProviderResponse, secrets: ReadonlyArray<string>): ResetError => {
  const error = field(response.json, 'error');
  const providerCode = ncloudErrorCode(response, secrets);
  const providerMessage = firstText(
    field(error, 'message'),
    field(response.json, 'message'),
    plainTextBody(response),
  );
  const ok2xx = response.status >= 200 && response.status < 300;
  // `result: null` (or false) is Naver's documented refusal. A 2xx that says nothing readable
  // about the result is no refusal: the reset may have been applied, so it is "unknown".
  const refused =
    ok2xx && response.json !== null && typeof response.json === 'object' && 'result' in response.json;
  const summary = !ok2xx
    ? `Naver Cloud answered HTTP ${response.status}`
    : refused
      ? 'Naver Cloud did not confirm the password reset (result was not true)'
      : `Naver Cloud answered HTTP ${response.status} without a result: the reset may have been applied`;
  return new ResetError(
    !ok2xx ? codeForHttpStatus(response.status) : refused ? 'PROVIDER_REJECTED' : 'PROVIDER_UNAVAILABLE',
    withProviderMessage(summary, providerMessage, secrets),
    providerErrorDetails(response, providerCode),
  );
};
