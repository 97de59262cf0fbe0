// Text that came from outside (a provider's error message, an SDK error) may echo what we sent.
// Before such text reaches a log line or a response, every secret we hold is cut out of it.

const MAX_FOREIGN_TEXT = 300;

export const redactSecrets = (text: string, secrets: ReadonlyArray<string | undefined>): string => {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('[REDACTED]');
  }
  return out.length > MAX_FOREIGN_TEXT ? `${out.slice(0, MAX_FOREIGN_TEXT)}…` : out;
};

const SENSITIVE_KEY = /pass(word)?|secret|signature|authorization|credential|token|accesskey/i;

/** JSON.stringify replacer for the logger: drops sensitive keys wherever they are nested. */
export const redactingReplacer = (key: string, value: unknown): unknown =>
  key !== '' && SENSITIVE_KEY.test(key) && (typeof value === 'string' || typeof value === 'object')
    ? '[REDACTED]'
    : value;
