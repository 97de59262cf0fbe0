import type { CssCloud } from './cloud.ts';
import { createCssProvider } from './provider.ts';

const OTC_CLOUD: CssCloud = {
  id: 'otc-css',
  name: 'Open Telekom Cloud',
  credentialsFolder: 'otc',
  endpointVariable: 'OTC_CSS_ENDPOINT',
  defaultEndpoint: 'https://css.{region}.otc.t-systems.com',
  regions: ['eu-de', 'eu-nl'],
  // The Swiss cloud has no published CSS endpoint (its domain is *.eu-ch2.sc.otc.t-systems.com).
  overrideOnlyRegions: ['eu-ch2'],
  reference: 'https://docs.otc.t-systems.com/cloud-search-service/api-ref/',
};

/** Open Telekom Cloud, Cloud Search Service. */
export const otcCss = createCssProvider(OTC_CLOUD);
