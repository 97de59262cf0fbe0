import type { Config } from '../../config.ts';
import { validationFailed } from '../../errors.ts';
import { type CssCloud, cssSettings } from './cloud.ts';

// A CSS cloud selects the region by host: https://css.{region}.<cloud domain>.

/** The regions a request may name under this configuration. */
export const cssRegions = (cloud: CssCloud, config: Pick<Config, 'env'>): readonly [string, ...string[]] =>
  cssSettings(cloud, config).overridden ? [...cloud.regions, ...cloud.overrideOnlyRegions] : cloud.regions;

/**
 * Base URL (no trailing slash) of the CSS API for a region. The region was validated against
 * cssRegions() before; the check here keeps a default endpoint from ever being guessed for a
 * region that has none.
 */
export const cssBaseUrl = (cloud: CssCloud, config: Pick<Config, 'env'>, region: string): string => {
  const { endpoint, overridden } = cssSettings(cloud, config);
  if (cloud.overrideOnlyRegions.includes(region) && !overridden) {
    throw validationFailed([
      {
        field: 'region',
        rule: `has no published CSS endpoint (${region}); set ${cloud.endpointVariable} to use it`,
      },
    ]);
  }
  const published = overridden ? undefined : cloud.regionEndpoints?.[region];
  return published ?? endpoint.replaceAll('{region}', region);
};

// Project and cluster ids are validated (32 lower-case hex digits; a UUID) before they reach
// these paths, so they need no encoding.
export const clusterPath = (projectId: string, clusterId: string): string =>
  `/v1.0/${projectId}/clusters/${clusterId}`;

export const resetPasswordPath = (projectId: string, clusterId: string): string =>
  `${clusterPath(projectId, clusterId)}/password/reset`;
