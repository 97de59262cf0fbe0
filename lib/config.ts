import { DEFAULT_EXCLUDE_CHARACTERS } from './password/policy.ts';

// What the core reads from the environment, with the documented defaults. Each provider reads
// its own settings (endpoints and their overrides) from `env`, in its own folder.

export interface Config {
  /** The environment the configuration was read from, for the providers' own settings. */
  env: Readonly<Record<string, string | undefined>>;
  stage: string;
  credentialsPrefix: string;
  secretPrefix: string;
  lockTable: string;
  eventBusName: string;
  providerTimeoutMs: number;
  /** How often to poll a provider's cluster state while waiting for it to settle. */
  statePollIntervalMs: number;
  /** Lease lifetime: longer than the function timeout, so a live holder never loses it. */
  leaseSeconds: number;
  /** Secrets Manager id of the per-deployment key that binds supplied passwords to idempotency keys. */
  fingerprintKeySecret?: string;
  /** Milliseconds kept back from the Lambda deadline to answer and release the lease. */
  deadlineReserveMs: number;
  /** KMS key (id, ARN or alias) the secrets the project creates are encrypted with; absent: Secrets Manager's default key. */
  secretsKmsKeyId?: string;
  /**
   * Characters generated passwords leave out (PASSWORD_EXCLUDE_CHARACTERS; empty: none); each
   * handler checks at start that its provider's rule can still be met (lib/handler.ts).
   */
  passwordExcludeCharacters: string;
  /**
   * The clusters this stage may rotate (ALLOWED_CLUSTERS): `provider/region/clusterId` patterns,
   * `*` for any run of characters; absent: every cluster its credentials reach.
   */
  allowedClusters?: readonly RegExp[];
}

const positiveInt = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new Error(`${name} must be a positive integer`);
  }
  return parsed;
};

// Fractions let the test suites wait out a lease in well under a second.
const positiveNumber = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number`);
  return parsed;
};

export const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

/** A setting that must be one of a few words, or absent (then `fallback`); anything else stops the function at start. */
export const oneOf = <T extends string>(
  value: string | undefined,
  fallback: T,
  name: string,
  allowed: readonly T[],
): T => {
  const given = nonEmpty(value);
  if (given === undefined) return fallback;
  const match = allowed.find((word) => word === given);
  if (match === undefined) throw new Error(`${name} must be one of ${allowed.join(', ')}`);
  return match;
};

export const trimSlash = (value: string): string => value.replace(/\/+$/, '');

// Loopback hosts as URL normalizes them (`127.1` and `0x7f.0.0.1` become 127.0.0.1, `[0::1]` becomes [::1]).
const isLoopback = (hostname: string): boolean =>
  hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);

/**
 * A provider endpoint setting (`name` is its variable): an https:// URL, or http:// to a loopback
 * host (127.0.0.0/8, localhost, [::1]: the sandbox and the tests), where the keys' signatures and
 * the passwords never leave the machine. Anything else stops the function at start. A `{region}`
 * placeholder may stand anywhere; it is checked as if it were a plain word.
 */
export const providerEndpoint = (value: string, name: string): string => {
  let url: URL;
  try {
    url = new URL(value.replaceAll('{region}', 'region'));
  } catch {
    throw new Error(`${name} must be an https:// URL (it is not a URL)`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return value;
  throw new Error(
    `${name} must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not ${url.protocol}//${url.host}`,
  );
};

/**
 * ALLOWED_CLUSTERS: a JSON list or a comma-separated list of `provider/region/clusterId` patterns,
 * each part a word or `*`-globbed word. A malformed list stops the function at start.
 */
export const clusterPatterns = (value: string): RegExp[] => {
  const text = value.trim();
  let entries: unknown;
  try {
    entries = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((entry) => entry.trim());
  } catch {
    throw new Error(
      'ALLOWED_CLUSTERS must be a JSON list or a comma-separated list of provider/region/clusterId patterns',
    );
  }
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error('ALLOWED_CLUSTERS must list at least one provider/region/clusterId pattern');
  return entries.map((entry) => {
    if (typeof entry !== 'string' || !/^[A-Za-z0-9*_.-]+\/[A-Za-z0-9*_.-]+\/[A-Za-z0-9*_.-]+$/.test(entry))
      throw new Error(
        `ALLOWED_CLUSTERS: ${JSON.stringify(entry)} is not a provider/region/clusterId pattern (letters, digits, . _ - and *)`,
      );
    const body = entry
      .split('*')
      .map((part) => part.replace(/[.]/g, '\\.'))
      .join('[^/]*');
    return new RegExp(`^${body}$`);
  });
};

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const stage = env.STAGE ?? 'dev';
  const config: Config = {
    env: { ...env },
    stage,
    credentialsPrefix: trimSlash(env.CREDENTIALS_PREFIX ?? `/cluster-password-reset/${stage}/credentials`),
    // Per stage, like the lease table: two stages in one account must never rotate one secret
    // under two different leases, nor reach each other's secrets through their roles.
    secretPrefix: trimSlash(env.SECRET_PREFIX ?? `cluster-password-reset/${stage}`),
    lockTable: env.LOCK_TABLE ?? `cluster-password-reset-${stage}-leases`,
    eventBusName: env.EVENT_BUS_NAME ?? 'default',
    providerTimeoutMs: positiveInt(env.PROVIDER_TIMEOUT_MS, 10_000, 'PROVIDER_TIMEOUT_MS'),
    statePollIntervalMs: positiveInt(env.STATE_POLL_INTERVAL_MS, 5_000, 'STATE_POLL_INTERVAL_MS'),
    leaseSeconds: positiveNumber(env.LEASE_SECONDS, 120, 'LEASE_SECONDS'),
    deadlineReserveMs: positiveInt(env.DEADLINE_RESERVE_MS, 2_000, 'DEADLINE_RESERVE_MS'),
    // Absent: the default set; empty: nothing excluded.
    passwordExcludeCharacters: env.PASSWORD_EXCLUDE_CHARACTERS ?? DEFAULT_EXCLUDE_CHARACTERS,
    ...(nonEmpty(env.ALLOWED_CLUSTERS?.trim()) === undefined
      ? {}
      : { allowedClusters: clusterPatterns(env.ALLOWED_CLUSTERS as string) }),
    ...(nonEmpty(env.FINGERPRINT_KEY_SECRET) === undefined
      ? {}
      : { fingerprintKeySecret: env.FINGERPRINT_KEY_SECRET as string }),
    ...(nonEmpty(env.SECRETS_KMS_KEY_ID?.trim()) === undefined
      ? {}
      : { secretsKmsKeyId: (env.SECRETS_KMS_KEY_ID as string).trim() }),
  };
  // A live rotation must never outlast its lease: the lease must outlive the function's timeout.
  const timeoutSeconds = env.FUNCTION_TIMEOUT_SECONDS;
  if (timeoutSeconds !== undefined && timeoutSeconds !== '') {
    const timeout = positiveInt(timeoutSeconds, 1, 'FUNCTION_TIMEOUT_SECONDS');
    if (config.leaseSeconds <= timeout) {
      throw new Error(
        `LEASE_SECONDS (${config.leaseSeconds}) must exceed the function timeout (${timeout} s)`,
      );
    }
  }
  return config;
};
