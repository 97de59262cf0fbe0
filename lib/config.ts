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
    ...(nonEmpty(env.FINGERPRINT_KEY_SECRET) === undefined
      ? {}
      : { fingerprintKeySecret: env.FINGERPRINT_KEY_SECRET as string }),
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
