import { huaweicloudCss } from './css/huaweicloud.ts';
import { otcCss } from './css/otc.ts';
import { ncloudCdss } from './ncloud/index.ts';
import type { ProviderDefinition } from './types.ts';

// Every provider the project serves. Core code never names one: a provider is a definition
// (ncloud/index.ts; css/otc.ts and css/huaweicloud.ts, two clouds of one API), listed here, with a
// handler in functions/ that composes it.
// biome-ignore lint/suspicious/noExplicitAny: definitions differ in their credentials type
export const PROVIDERS: ReadonlyArray<ProviderDefinition<any>> = [ncloudCdss, otcCss, huaweicloudCss];
