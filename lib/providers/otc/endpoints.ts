import type { Config } from '../../config.ts';
import { validationFailed } from '../../errors.ts';

// Open Telekom Cloud selects the region by host: https://css.{region}.otc.t-systems.com.
const OTC_REGIONS = ['eu-de', 'eu-nl'] as const;
// The Swiss cloud (eu-ch2) has no published CSS endpoint, so there is no default to fall back to:
// it is usable only when OTC_CSS_ENDPOINT names one.
const OTC_OVERRIDE_ONLY_REGIONS = ['eu-ch2'] as const;

const isOverrideOnly = (region: string): boolean =>
  (OTC_OVERRIDE_ONLY_REGIONS as ReadonlyArray<string>).includes(region);

/** The regions a request may name under this configuration. */
export const otcRegions = (
  config: Pick<Config, 'otcCssEndpointOverridden'>,
): readonly [string, ...string[]] =>
  config.otcCssEndpointOverridden ? [...OTC_REGIONS, ...OTC_OVERRIDE_ONLY_REGIONS] : OTC_REGIONS;

/**
 * Base URL (no trailing slash) of the CSS API for a region. The region was validated against
 * otcRegions() before; the check here keeps a default endpoint from ever being guessed for a
 * region that has none.
 */
export const otcBaseUrl = (
  config: Pick<Config, 'otcCssEndpoint' | 'otcCssEndpointOverridden'>,
  region: string,
): string => {
  if (isOverrideOnly(region) && !config.otcCssEndpointOverridden) {
    throw validationFailed([
      { field: 'region', rule: `has no published CSS endpoint (${region}); set OTC_CSS_ENDPOINT to use it` },
    ]);
  }
  return config.otcCssEndpoint.replaceAll('{region}', region);
};

// Project and cluster ids are validated (32 lower-case hex digits; a UUID) before they reach
// these paths, so they need no encoding.
export const clusterPath = (projectId: string, clusterId: string): string =>
  `/v1.0/${projectId}/clusters/${clusterId}`;

export const resetPasswordPath = (projectId: string, clusterId: string): string =>
  `${clusterPath(projectId, clusterId)}/password/reset`;
