import type { CssCloud } from './cloud.ts';
import { createCssProvider } from './provider.ts';

// Huawei Cloud serves the CSS API that Open Telekom Cloud runs (same paths, AK/SK signing, errors,
// password rule and cluster states): only its hosts and regions differ, so it is a cloud of the
// shared CSS provider and nothing more.

const HUAWEICLOUD_CLOUD: CssCloud = {
  id: 'huaweicloud-css',
  name: 'Huawei Cloud',
  credentialsFolder: 'huaweicloud',
  endpointVariable: 'HUAWEICLOUD_CSS_ENDPOINT',
  defaultEndpoint: 'https://css.{region}.myhuaweicloud.com',
  // The regions of CssRegion in Huawei's official SDK (huaweicloud-sdk-css), in its order.
  regions: [
    'cn-south-1',
    'cn-east-3',
    'cn-north-4',
    'cn-north-2',
    'cn-north-1',
    'cn-north-9',
    'cn-east-2',
    'cn-south-4',
    'cn-southwest-2',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-1',
    'sa-brazil-1',
    'na-mexico-1',
    'la-north-2',
    'af-south-1',
    'la-south-2',
    'cn-south-2',
    'tr-west-1',
    'ap-southeast-4',
    'ae-ad-1',
    'cn-east-5',
    'my-kualalumpur-1',
    'eu-west-101',
    'af-north-1',
    'ru-moscow-1',
    'me-east-1',
    'ap-southeast-5',
    'cn-east-4',
    'cn-north-11',
    'cn-north-12',
    'cn-southwest-3',
  ],
  overrideOnlyRegions: [],
  // The two oldest regions kept the service's former name in their host.
  regionEndpoints: {
    'cn-north-1': 'https://es.cn-north-1.myhuaweicloud.com',
    'cn-east-2': 'https://es.cn-east-2.myhuaweicloud.com',
  },
  reference: 'https://support.huaweicloud.com/intl/en-us/api-css/',
};

/** Huawei Cloud, Cloud Search Service. */
export const huaweicloudCss = createCssProvider(HUAWEICLOUD_CLOUD);
