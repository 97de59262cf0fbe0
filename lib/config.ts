import {
  isNcloudResetApi,
  isNcloudSite,
  NCLOUD_RESET_APIS,
  NCLOUD_SITES,
  type NcloudResetApi,
  type NcloudSite,
} from './providers/ncloud/endpoints.ts';

// Everything the handlers read from the environment, in one place, with the documented defaults.

export interface Config {
  stage: string;
  credentialsPrefix: string;
  secretPrefix: string;
  lockTable: string;
  eventBusName: string;
  /** Naver Cloud site (public, gov, fin): its host, unless overridden, and the regions it admits. */
  ncloudCdssSite: NcloudSite;
  ncloudCdssEndpoint: string;
  /** The CDSS reset API: resetMGMTPassword, or the retired resetCMAKPassword for accounts that still have it. */
  ncloudCdssResetApi: NcloudResetApi;
  /** May hold `{region}`; the default is the public endpoint pattern. */
  otcCssEndpoint: string;
  /** True when OTC_CSS_ENDPOINT was set: regions without a published endpoint become usable. */
  otcCssEndpointOverridden: boolean;
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

const trimSlash = (value: string): string => value.replace(/\/+$/, '');

export const OTC_CSS_DEFAULT_ENDPOINT = 'https://css.{region}.otc.t-systems.com';

const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

const oneOf = <T extends string>(
  value: string | undefined,
  fallback: T,
  name: string,
  allowed: readonly string[],
  accepts: (value: string) => value is T,
): T => {
  const given = nonEmpty(value);
  if (given === undefined) return fallback;
  if (!accepts(given)) throw new Error(`${name} must be one of ${allowed.join(', ')}`);
  return given;
};

export const readConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const stage = env.STAGE ?? 'dev';
  const ncloudSites = Object.keys(NCLOUD_SITES);
  const ncloudCdssSite = oneOf(env.NCLOUD_CDSS_SITE, 'public', 'NCLOUD_CDSS_SITE', ncloudSites, isNcloudSite);
  const config: Config = {
    stage,
    credentialsPrefix: trimSlash(env.CREDENTIALS_PREFIX ?? `/cluster-password-reset/${stage}/credentials`),
    // Per stage, like the lease table: two stages in one account must never rotate one secret
    // under two different leases, nor reach each other's secrets through their roles.
    secretPrefix: trimSlash(env.SECRET_PREFIX ?? `cluster-password-reset/${stage}`),
    lockTable: env.LOCK_TABLE ?? `cluster-password-reset-${stage}-leases`,
    eventBusName: env.EVENT_BUS_NAME ?? 'default',
    ncloudCdssSite,
    ncloudCdssEndpoint: trimSlash(nonEmpty(env.NCLOUD_CDSS_ENDPOINT) ?? NCLOUD_SITES[ncloudCdssSite].host),
    ncloudCdssResetApi: oneOf(
      env.NCLOUD_CDSS_RESET_API,
      'resetMGMTPassword',
      'NCLOUD_CDSS_RESET_API',
      NCLOUD_RESET_APIS,
      isNcloudResetApi,
    ),
    otcCssEndpoint: trimSlash(nonEmpty(env.OTC_CSS_ENDPOINT) ?? OTC_CSS_DEFAULT_ENDPOINT),
    // serverless.yml passes the public default explicitly: only another value is an override.
    otcCssEndpointOverridden: ![undefined, OTC_CSS_DEFAULT_ENDPOINT].includes(nonEmpty(env.OTC_CSS_ENDPOINT)),
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
