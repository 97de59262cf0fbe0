// Naver Cloud serves CDSS on three sites (public, government, financial), each its own host, and
// selects the region by URI prefix on that host. Each site admits only its own regions.
// https://api.ncloud-docs.com/docs/en/analytics-clouddatastreamingservice
// https://api-gov.ncloud-docs.com/docs/analytics-clouddatastreamingservice

export const NCLOUD_SITES = {
  public: {
    host: 'https://clouddatastreamingservice.apigw.ntruss.com',
    prefixes: { KR: '/api/v1', SGN: '/api/sgn-v1', JPN: '/api/jpn-v1' },
  },
  gov: {
    host: 'https://clouddatastreamingservice.apigw.gov-ntruss.com',
    prefixes: { KR: '/api/v1', KRS: '/api/krs-v1' },
  },
  fin: {
    host: 'https://fin-clouddatastreamingservice.apigw.fin-ntruss.com',
    prefixes: { KR: '/api/v1' },
  },
} as const satisfies Record<string, { host: string; prefixes: Record<string, string> }>;

export type NcloudSite = keyof typeof NCLOUD_SITES;

/** The regions a site admits, in the order Naver lists them. */
export const ncloudRegions = (site: NcloudSite): [string, ...string[]] =>
  Object.keys(NCLOUD_SITES[site].prefixes) as [string, ...string[]];

/**
 * The reset API. Naver retired `resetCMAKPassword` (reference updated 2026-09-17) for
 * `resetMGMTPassword`, with the same body and answer; the old one stays selectable for accounts
 * that still have it.
 * https://api.ncloud-docs.com/docs/en/analytics-clouddatastreamingservice-cluster-resetcmakpassword
 */
export const NCLOUD_RESET_APIS = ['resetMGMTPassword', 'resetCMAKPassword'] as const;
export type NcloudResetApi = (typeof NCLOUD_RESET_APIS)[number];

const prefixOf = (site: NcloudSite, region: string): string => {
  const prefixes: Record<string, string> = NCLOUD_SITES[site].prefixes;
  const prefix = Object.hasOwn(prefixes, region) ? prefixes[region] : undefined;
  // Validation admits only the site's regions; reaching this is a programming error.
  if (prefix === undefined) throw new Error(`region ${region} is not served by the ${site} site`);
  return prefix;
};

// serviceGroupInstanceNo is validated as digits before it reaches these paths.
export const resetPasswordPath = (
  site: NcloudSite,
  api: NcloudResetApi,
  region: string,
  serviceGroupInstanceNo: string,
): string => `${prefixOf(site, region)}/cluster/${api}/${serviceGroupInstanceNo}`;

export const clusterInfoPath = (site: NcloudSite, region: string, serviceGroupInstanceNo: string): string =>
  `${prefixOf(site, region)}/cluster/getClusterInfoList/${serviceGroupInstanceNo}`;
