import { createHmac } from 'node:crypto';

// NCP API Gateway signature v2:
//   base64(HMAC-SHA256(secretKey, METHOD + " " + requestURI + "\n" + timestamp + "\n" + accessKey))
// where requestURI is the path with its query string and timestamp is epoch milliseconds.

interface NcloudSigningInput {
  method: string;
  /** Path and query, exactly as sent. */
  requestUri: string;
  timestamp: number;
  accessKey: string;
  secretKey: string;
}

export const NCLOUD_SIGNED_HEADERS = [
  'x-ncp-apigw-timestamp',
  'x-ncp-iam-access-key',
  'x-ncp-apigw-signature-v2',
];

const signNcloudV2 = (input: NcloudSigningInput): string =>
  createHmac('sha256', input.secretKey)
    .update(`${input.method} ${input.requestUri}\n${input.timestamp}\n${input.accessKey}`)
    .digest('base64');

export const ncloudAuthHeaders = (input: NcloudSigningInput): Record<string, string> => ({
  'x-ncp-apigw-timestamp': String(input.timestamp),
  'x-ncp-iam-access-key': input.accessKey,
  'x-ncp-apigw-signature-v2': signNcloudV2(input),
});
