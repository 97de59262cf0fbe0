// A password that every encoding below changes, and the forms a provider may echo it in. Written
// out here, apart from lib/redact.ts, so that the tests do not share the code they check.

export const ECHOED_PASSWORD = `Xy7!"&<>'/\\ é+=%k`;

export const lowerHex = (text: string) => text.replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase());
const everyChar = (text: string, write: (codePoint: number) => string) =>
  Array.from(text, (char) => (/[A-Za-z0-9]/.test(char) ? char : write(char.codePointAt(0) as number))).join(
    '',
  );

/** [name, the password as the provider writes it back]. */
export const passwordEchoes = (password: string): Array<[string, string]> => [
  ['literal', password],
  ['JSON-escaped', JSON.stringify(password).slice(1, -1)],
  [
    'JSON-escaped with \\u0026 \\u003c \\u003e',
    JSON.stringify(password)
      .slice(1, -1)
      .replace(/[<>&]/g, (char) => `\\u00${char.charCodeAt(0).toString(16)}`),
  ],
  ['JSON inside JSON', JSON.stringify(JSON.stringify({ newpassword: password }))],
  ['JSON, every character \\u-escaped', everyChar(password, (c) => `\\u${c.toString(16).padStart(4, '0')}`)],
  ['URL-encoded', encodeURIComponent(password)],
  ['URL-encoded, lower-case hex', lowerHex(encodeURIComponent(password))],
  ['form-encoded', new URLSearchParams({ newpassword: password }).toString()],
  ['form-encoded, lower-case hex', lowerHex(new URLSearchParams({ newpassword: password }).toString())],
  [
    'HTML-escaped (&amp; &lt; &gt; &quot; &#39;)',
    password
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;'),
  ],
  [
    'HTML-escaped (&#34; &#x27;)',
    password
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&#34;')
      .replace(/'/g, '&#x27;'),
  ],
  ['HTML, numeric entities', everyChar(password, (c) => `&#${c};`)],
  ['HTML, hex entities', everyChar(password, (c) => `&#X${c.toString(16).toUpperCase()};`)],
  ['base64', Buffer.from(password).toString('base64')],
  ['base64 of the request body', Buffer.from(JSON.stringify({ newpassword: password })).toString('base64')],
  ['base64url, unaligned', Buffer.from(`pw=${password}`).toString('base64url')],
];

/** Every encoded form of the password, to look for in what an error shows. */
export const echoVariants = (password: string): string[] => passwordEchoes(password).map(([, echo]) => echo);

/** What an error shows anywhere: its message and every enumerable field. */
export const shown = (error: Error): string => JSON.stringify({ ...error, message: error.message });

/** A password made only of characters a provider code may hold, so that only its value gives it away. */
export const TOKEN_PASSWORD = 'Kafka.Pw-2024x';

/** [name, a provider code that echoes a password]: every one must be dropped. */
export const codeEchoes: Array<[string, string]> = [
  ['the password', TOKEN_PASSWORD],
  ['the password after a code', `100:${TOKEN_PASSWORD}`],
  ['the password in base64', Buffer.from(TOKEN_PASSWORD).toString('base64').replace(/=+$/, '')],
  ['the password in hex', Buffer.from(TOKEN_PASSWORD).toString('hex')],
  ['a code and the password, URL-encoded', `CSS.0050%20${encodeURIComponent(ECHOED_PASSWORD)}`],
  ['a code and the password, JSON-escaped', `CSS.0050 ${JSON.stringify(ECHOED_PASSWORD)}`],
  ['text too long to be a code', `E${'1'.repeat(40)}`],
];
