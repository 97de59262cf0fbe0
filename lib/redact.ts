// Text that came from outside (a provider's error message, an SDK error) may echo what we sent,
// and not always as we sent it: JSON-escaped, URL- or form-encoded, HTML-escaped or in base64.
// Such text reaches a log line, a response and an event only when no secret we hold is in it in
// any of those forms.

const MAX_FOREIGN_TEXT = 300;

// Shorter values would match ordinary text anywhere.
const MIN_SECRET_LENGTH = 4;

// Decoding is layered (a URL-encoded password inside a JSON string, HTML inside base64): two
// layers of every decoder are tried.
const DECODE_DEPTH = 2;

const hex2 = (byte: number): string => byte.toString(16).padStart(2, '0');
const hex4 = (unit: number): string => unit.toString(16).padStart(4, '0');
const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
const isPlain = (char: string): boolean => /^[A-Za-z0-9]$/.test(char);

/** `secret` with every character that is not a letter or digit written by `write`. */
const escapeEach = (secret: string, write: (char: string) => string): string =>
  Array.from(secret, (char) => (isPlain(char) ? char : write(char))).join('');

const everyByte = (char: string, write: (byte: number) => string): string =>
  Array.from(Buffer.from(char, 'utf8'), write).join('');

const HTML_SCHEMES: ReadonlyArray<Readonly<Record<string, string>>> = [
  { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' },
  { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' },
  { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' },
  { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' },
];

/**
 * The base64 characters that depend on the secret's bytes alone, for each of the three ways the
 * secret can fall against base64's 3-byte groups: what any base64 text holding it must contain.
 */
const base64Cores = (bytes: Buffer): string[] =>
  [0, 1, 2].flatMap((lead) => {
    const encoded = Buffer.concat([Buffer.alloc(lead), bytes]).toString('base64');
    const core = encoded.slice(Math.ceil((lead * 8) / 6), Math.floor(((lead + bytes.length) * 8) / 6));
    return [core, core.replace(/\+/g, '-').replace(/\//g, '_')];
  });

/** Every way of writing `secret` that an echo of our request is likely to use. */
const encodedForms = (secret: string): string[] => {
  const bytes = Buffer.from(secret, 'utf8');
  const json = JSON.stringify(secret).slice(1, -1);
  const uri = encodeURIComponent(secret);
  const form = new URLSearchParams({ s: secret }).toString().slice(2);
  const percentAll = escapeEach(secret, (char) => everyByte(char, (byte) => `%${hex2(byte).toUpperCase()}`));
  const unicodeAll = escapeEach(secret, (char) =>
    Array.from({ length: char.length }, (_, i) => `\\u${hex4(char.charCodeAt(i))}`).join(''),
  );
  const html = HTML_SCHEMES.map((scheme) => Array.from(secret, (char) => scheme[char] ?? char).join(''));
  const forms = [
    secret,
    // The UTF-8 bytes read as Latin-1: what a byte-wise decoding of the text holds.
    bytes.toString('latin1'),
    json,
    json.replace(/\//g, '\\/'),
    json.replace(/[<>&]/g, (char) => `\\u${hex4(char.charCodeAt(0))}`),
    unicodeAll,
    unicodeAll.toUpperCase().replace(/\\U/g, '\\u'),
    uri,
    lowerHex(uri),
    uri.replace(/%20/g, '+'),
    form,
    lowerHex(form),
    encodeURI(secret),
    percentAll,
    lowerHex(percentAll),
    ...html,
    escapeEach(secret, (char) => `&#${char.codePointAt(0)};`),
    escapeEach(secret, (char) => `&#x${char.codePointAt(0)?.toString(16)};`),
    ...base64Cores(bytes),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
  ];
  return [...new Set(forms)].filter((form) => form.length > 0);
};

const JSON_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const jsonUnescape = (text: string): string =>
  text.replace(/\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))/g, (_, unit: string | undefined, char: string) =>
    unit === undefined ? (JSON_ESCAPES[char] ?? char) : String.fromCharCode(Number.parseInt(unit, 16)),
  );

/** Each run of %XX as UTF-8 where it is valid, else byte by byte; %uXXXX as escape() writes it. */
const percentDecode = (text: string): string =>
  text
    .replace(/%u([0-9a-fA-F]{4})/g, (_, unit: string) => String.fromCharCode(Number.parseInt(unit, 16)))
    .replace(/(?:%[0-9a-fA-F]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run.replace(/%([0-9a-fA-F]{2})/g, (_, byte: string) =>
          String.fromCharCode(Number.parseInt(byte, 16)),
        );
      }
    });

const formDecode = (text: string): string => percentDecode(text.replace(/\+/g, ' '));

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  excl: '!',
  num: '#',
  dollar: '$',
  percnt: '%',
  lpar: '(',
  rpar: ')',
  ast: '*',
  plus: '+',
  comma: ',',
  period: '.',
  sol: '/',
  colon: ':',
  semi: ';',
  equals: '=',
  quest: '?',
  commat: '@',
  lsqb: '[',
  rsqb: ']',
  bsol: '\\',
  lowbar: '_',
  grave: '`',
  lcub: '{',
  rcub: '}',
  verbar: '|',
  hat: '^',
  tilde: '~',
};

const fromCodePoint = (codePoint: number, original: string): string =>
  codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : original;

const htmlDecode = (text: string): string =>
  text.replace(/&(?:#[xX]([0-9a-fA-F]{1,8})|#([0-9]{1,9})|([A-Za-z]{2,8}));?/g, (entity, hex, dec, name) => {
    if (hex !== undefined) return fromCodePoint(Number.parseInt(hex, 16), entity);
    if (dec !== undefined) return fromCodePoint(Number.parseInt(dec, 10), entity);
    return HTML_ENTITIES[(name as string).toLowerCase()] ?? entity;
  });

/**
 * Every run of base64 characters decoded from each of the four places a 4-character group can
 * start, as UTF-8 and as Latin-1 (bytes that are not UTF-8 as a whole may still hold the secret's
 * bytes); whitespace is dropped first, since base64 is often wrapped.
 */
const base64Decode = (text: string): string => {
  const runs = text.replace(/\s+/g, '').match(/[A-Za-z0-9+/_-]{6,}/g) ?? [];
  return runs
    .flatMap((run) =>
      [0, 1, 2, 3].flatMap((start) => {
        const bytes = Buffer.from(run.slice(start), 'base64');
        return [bytes.toString('utf8'), bytes.toString('latin1')];
      }),
    )
    .join('\u0000');
};

const DECODERS = [jsonUnescape, percentDecode, formDecode, htmlDecode, base64Decode];

/** The text and what it reads as under every decoder, up to DECODE_DEPTH layers deep. */
const readings = (text: string): string[] => {
  const seen = new Set([text]);
  let layer = [text];
  for (let depth = 0; depth < DECODE_DEPTH; depth++) {
    const next: string[] = [];
    for (const reading of layer) {
      for (const decode of DECODERS) {
        const decoded = decode(reading);
        if (!seen.has(decoded)) {
          seen.add(decoded);
          next.push(decoded);
        }
      }
    }
    layer = next;
  }
  return [...seen];
};

/** Whether `text` holds any of `secrets` (those of four characters or more) in any encoding. */
export const containsSecret = (text: string, secrets: ReadonlyArray<string | undefined>): boolean => {
  const forms = secrets
    .filter((secret): secret is string => secret !== undefined && secret.length >= MIN_SECRET_LENGTH)
    .flatMap(encodedForms);
  if (forms.length === 0) return false;
  return readings(text).some((reading) => forms.some((form) => reading.includes(form)));
};

/** Foreign text bounded in length, or undefined when it holds a secret in any form. */
export const foreignText = (text: string, secrets: ReadonlyArray<string | undefined>): string | undefined => {
  // Checked whole before it is cut, so that a secret across the cut is found too.
  if (containsSecret(text, secrets)) return undefined;
  return text.length > MAX_FOREIGN_TEXT ? `${text.slice(0, MAX_FOREIGN_TEXT)}…` : text;
};

/**
 * Foreign text for a message that must keep its own words: the text, bounded, or `[REDACTED]` in
 * its place when it holds a secret. Cutting the secret out would keep whatever encoding of it we
 * did not foresee, and a base64 neighbour's bits of it, so the whole text goes.
 */
export const redactSecrets = (text: string, secrets: ReadonlyArray<string | undefined>): string =>
  foreignText(text, secrets) ?? '[REDACTED]';

const SENSITIVE_KEY = /pass(word)?|secret|signature|authorization|credential|token|accesskey/i;

/** JSON.stringify replacer for the logger: drops sensitive keys wherever they are nested. */
export const redactingReplacer = (key: string, value: unknown): unknown =>
  key !== '' && SENSITIVE_KEY.test(key) && (typeof value === 'string' || typeof value === 'object')
    ? '[REDACTED]'
    : value;
