import { type ErrorCode, ResetError } from '../../errors.ts';
import type { ProviderResponse } from '../http.ts';
import {
  codeForHttpStatus,
  field,
  firstText,
  plainTextBody,
  providerCodeText,
  providerErrorDetails,
  withProviderMessage,
} from '../response-fields.ts';

// CSS answers errors as {"error_code":"CSS.xxxx","error_msg":"…"}; the API gateway in front of it
// sometimes as {"error":{"code","message"}}, and a proxy may answer text/plain or HTML. The CSS
// code, when there is one we know, says more than the HTTP status: a 202 with CSS.0011 is another
// operation running, not an accepted request.

const CODE_BY_CSS_CODE: Readonly<Record<string, ErrorCode>> = {
  'CSS.0047': 'CLUSTER_NOT_FOUND',
  'CSS.0050': 'PASSWORD_POLICY_VIOLATION',
  'CSS.0066': 'PASSWORD_POLICY_VIOLATION',
  'CSS.2026': 'PASSWORD_POLICY_VIOLATION',
  'CSS.0011': 'CLUSTER_STATE_CONFLICT',
  'CSS.5090': 'CLUSTER_STATE_CONFLICT',
  'CSS.5301': 'CLUSTER_STATE_CONFLICT',
};

const codeFor = (status: number, providerCode: string | undefined): ErrorCode => {
  const known = providerCode === undefined ? undefined : CODE_BY_CSS_CODE[providerCode];
  if (known) return known;
  // CSS answers 412 when the cluster is not in security mode: there is no admin password.
  if (status === 412) return 'PRECONDITION_FAILED';
  // Any 2xx that reaches here was not the 200 of a success, nor a known refusal (202 CSS.0011):
  // the change may still be applied, so it is an unknown outcome, never a refusal.
  if (status >= 200 && status < 300) return 'PROVIDER_UNAVAILABLE';
  return codeForHttpStatus(status);
};

export const cssRequestId = (response: ProviderResponse): string | undefined =>
  response.headers.get('x-request-id') ?? undefined;

/** A failed answer (anything but HTTP 200) as a ResetError; `secrets` never show in it. */
export const cssError = (
  response: ProviderResponse,
  secrets: ReadonlyArray<string>,
  providerName: string,
): ResetError => {
  const nested = field(response.json, 'error');
  const providerCode = providerCodeText(
    firstText(field(response.json, 'error_code'), field(nested, 'code'), field(response.json, 'code')),
    secrets,
  );
  const providerMessage =
    firstText(field(response.json, 'error_msg'), field(nested, 'message'), field(response.json, 'message')) ??
    plainTextBody(response);
  const summary = `${providerName} answered HTTP ${response.status}`;
  return new ResetError(
    codeFor(response.status, providerCode),
    withProviderMessage(summary, providerMessage, secrets),
    providerErrorDetails(response, providerCode),
  );
};
