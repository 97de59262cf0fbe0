import { type Config, nonEmpty, oneOf, providerEndpoint, trimSlash } from '../../config.ts';
import { NCLOUD_RESET_APIS, NCLOUD_SITES, type NcloudResetApi, type NcloudSite } from './endpoints.ts';

// Naver Cloud's own settings, read from the environment once per configuration:
//   NCLOUD_CDSS_SITE       public (default), gov or fin: the host and the regions admitted;
//   NCLOUD_CDSS_ENDPOINT   a base URL instead of the site's host (a proxy; https, or http to a
//                          loopback host: the sandbox);
//   NCLOUD_CDSS_RESET_API  resetMGMTPassword (default), or the retired resetCMAKPassword.

interface NcloudSettings {
  site: NcloudSite;
  endpoint: string;
  resetApi: NcloudResetApi;
}

const SITES = Object.keys(NCLOUD_SITES) as NcloudSite[];
const cache = new WeakMap<Config['env'], NcloudSettings>();

export const ncloudSettings = ({ env }: Pick<Config, 'env'>): NcloudSettings => {
  let settings = cache.get(env);
  if (!settings) {
    const site = oneOf(env.NCLOUD_CDSS_SITE, 'public', 'NCLOUD_CDSS_SITE', SITES);
    settings = {
      site,
      endpoint: trimSlash(
        providerEndpoint(
          nonEmpty(env.NCLOUD_CDSS_ENDPOINT) ?? NCLOUD_SITES[site].host,
          'NCLOUD_CDSS_ENDPOINT',
        ),
      ),
      resetApi: oneOf(
        env.NCLOUD_CDSS_RESET_API,
        'resetMGMTPassword',
        'NCLOUD_CDSS_RESET_API',
        NCLOUD_RESET_APIS,
      ),
    };
    cache.set(env, settings);
  }
  return settings;
};
