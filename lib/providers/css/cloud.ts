import { type Config, nonEmpty, providerEndpoint, trimSlash } from '../../config.ts';

// The CSS API is one API on several clouds: Open Telekom Cloud, and Huawei Cloud on other
// endpoints and regions. A cloud is what differs; everything else in this folder is shared, and
// each cloud is one definition file (otc.ts, huaweicloud.ts).

export interface CssCloud {
  /** The provider id, and the name used in messages. */
  id: string;
  name: string;
  /** Folder of its credentials under CREDENTIALS_PREFIX. */
  credentialsFolder: string;
  /** The environment variable that overrides its endpoint, and the endpoint (`{region}` replaced). */
  endpointVariable: string;
  defaultEndpoint: string;
  /** Regions with a published endpoint. */
  regions: readonly [string, ...string[]];
  /** Regions without one: usable only when the endpoint is overridden. */
  overrideOnlyRegions: readonly string[];
  /** Regions whose published endpoint is another host than the default pattern's. */
  regionEndpoints?: Readonly<Record<string, string>>;
  /** API reference of the cloud's CSS, for the comments and messages that cite it. */
  reference: string;
}

// A cloud's own settings, read from the environment once per configuration: the endpoint its
// variable names (`{region}` replaced per request), and whether that is another than the default.

interface CssSettings {
  /** May hold `{region}`. */
  endpoint: string;
  /** True when the endpoint variable names another endpoint than the default. */
  overridden: boolean;
}

const cache = new WeakMap<Config['env'], Map<string, CssSettings>>();

export const cssSettings = (cloud: CssCloud, { env }: Pick<Config, 'env'>): CssSettings => {
  let perCloud = cache.get(env);
  if (!perCloud) {
    perCloud = new Map();
    cache.set(env, perCloud);
  }
  let settings = perCloud.get(cloud.id);
  if (!settings) {
    const given = nonEmpty(env[cloud.endpointVariable]);
    settings = {
      // https, or http to a loopback host (the sandbox): anything else stops the function at start.
      endpoint: trimSlash(providerEndpoint(given ?? cloud.defaultEndpoint, cloud.endpointVariable)),
      // serverless.yml may pass the default explicitly: only another value is an override.
      overridden: given !== undefined && given !== cloud.defaultEndpoint,
    };
    perCloud.set(cloud.id, settings);
  }
  return settings;
};
