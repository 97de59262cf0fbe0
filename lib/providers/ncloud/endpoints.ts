// Naver Cloud selects the region by URI prefix on one host (see the seed document).
export const NCLOUD_REGIONS = ['KR', 'SGN', 'JPN'] as const;
export type NcloudRegion = (typeof NCLOUD_REGIONS)[number];

const PATH_PREFIX: Record<NcloudRegion, string> = {
  KR: '/api/v1',
  SGN: '/api/sgn-v1',
  JPN: '/api/jpn-v1',
};

// serviceGroupInstanceNo is validated as digits before it reaches these paths.
export const resetCmakPasswordPath = (region: NcloudRegion, serviceGroupInstanceNo: string): string =>
  `${PATH_PREFIX[region]}/cluster/resetCMAKPassword/${serviceGroupInstanceNo}`;

export const clusterInfoPath = (region: NcloudRegion, serviceGroupInstanceNo: string): string =>
  `${PATH_PREFIX[region]}/cluster/getClusterInfoList/${serviceGroupInstanceNo}`;
