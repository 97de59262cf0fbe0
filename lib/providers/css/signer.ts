import { createHash, createHmac } from 'node:crypto';

// The AK/SK signing of Huawei's API Gateway, in front of CSS on both its clouds, SDK-HMAC-SHA256:
//   canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n
//                       signed header names \n hex(SHA-256(body))
//   string to sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(SHA-256(canonical request))
//   signature         = hex(HMAC-SHA256(secret key, string to sign))
// The gateway rebuilds all of this from the request it receives, so every part is derived from
// what will actually be sent: the URL as fetch will parse it, the header values as HTTP will
// carry them (trimmed), the body's exact bytes.

const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';

interface CssSigningInput {
  /** Upper case, as sent. */
  method: string;
  /** The full URL, as it will be requested. */
  url: string;
  /** Headers to sign and send. `host` is taken from the URL when absent; x-sdk-date is the signer's. */
  headers: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  accessKey: string;
  secretKey: string;
  date: Date;
}

interface CssSignature {
  /** Headers the request must also carry: x-sdk-date, authorization, and host when it was not given. */
  headers: Record<string, string>;
  /** Lower-case names of every signed header, sorted. */
  signedHeaders: string[];
}

/** Percent-encodes everything but RFC 3986's unreserved characters, as UTF-8. */
const rfc3986 = (value: string): string =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );

/** X-Sdk-Date: YYYYMMDDTHHMMSSZ in UTC. */
const formatSdkDate = (date: Date): string => {
  const iso = date.toISOString();
  // toISOString() writes years outside 0000–9999 with a sign, which the format cannot hold.
  if (!/^\d{4}-/.test(iso)) throw new RangeError('X-Sdk-Date needs a year between 0 and 9999');
  return iso.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
};

// Each segment is decoded before it is encoded, so that the signed form does not depend on how
// the URL happened to be written (`%7e` or `~`, a raw space or `%20`): the gateway sees one form.
// An `%2F` stays inside its segment. The trailing slash is part of the signed form even though the
// request has none; that is the gateway's rule, not ours.
const canonicalUri = (pathname: string): string => {
  const encoded = pathname
    .split('/')
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join('/');
  return encoded.endsWith('/') ? encoded : `${encoded}/`;
};

// Sorted by decoded key, then value, by UTF-16 code unit (the order of the reference SDK), then
// encoded. A key without `=` signs as `key=`.
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const canonicalQuery = (params: URLSearchParams): string =>
  [...params]
    .sort(([keyA, valueA], [keyB, valueB]) => byCodeUnit(keyA, keyB) || byCodeUnit(valueA, valueB))
    .map(([key, value]) => `${rfc3986(key)}=${rfc3986(value)}`)
    .join('&');

const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

interface CanonicalRequest {
  text: string;
  sdkDate: string;
  signedHeaders: string[];
  /** Headers the signer adds to the request (x-sdk-date, and host when it was not given). */
  added: Record<string, string>;
}

const canonicalRequest = (input: Omit<CssSigningInput, 'accessKey' | 'secretKey'>): CanonicalRequest => {
  const url = new URL(input.url);
  const sdkDate = formatSdkDate(input.date);
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(input.headers)) {
    const lower = name.toLowerCase();
    // Two spellings of one header would be sent as one joined value: refuse rather than guess.
    if (values.has(lower)) throw new Error(`header ${lower} is given twice`);
    if (lower === 'x-sdk-date' || lower === 'authorization')
      throw new Error(`${lower} is the signer's to set`);
    values.set(lower, value.trim());
  }
  const added: Record<string, string> = { 'x-sdk-date': sdkDate };
  if (!values.has('host')) {
    added.host = url.host;
    values.set('host', url.host);
  }
  values.set('x-sdk-date', sdkDate);
  const signedHeaders = [...values.keys()].sort(byCodeUnit);
  const text = [
    input.method,
    canonicalUri(url.pathname),
    canonicalQuery(url.searchParams),
    signedHeaders.map((name) => `${name}:${values.get(name)}\n`).join(''),
    signedHeaders.join(';'),
    sha256Hex(input.body ?? ''),
  ].join('\n');
  return { text, sdkDate, signedHeaders, added };
};

/** Signs a request; the caller sends its own headers plus the ones returned. */
export const signCssRequest = (input: CssSigningInput): CssSignature => {
  const canonical = canonicalRequest(input);
  const stringToSign = `${SIGNING_ALGORITHM}\n${canonical.sdkDate}\n${sha256Hex(canonical.text)}`;
  const signature = createHmac('sha256', input.secretKey).update(stringToSign).digest('hex');
  return {
    headers: {
      ...canonical.added,
      authorization: `${SIGNING_ALGORITHM} Access=${input.accessKey}, SignedHeaders=${canonical.signedHeaders.join(';')}, Signature=${signature}`,
    },
    signedHeaders: canonical.signedHeaders,
  };
};
