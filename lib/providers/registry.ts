import { huaweicloudCss } from './huaweicloud/index.ts';
import { ncloudCdss } from './ncloud/index.ts';
import { otcCss } from './otc/index.ts';
import type { ProviderDefinition } from './types.ts';

// Every provider the project serves. Core code never names one: a provider is a definition in
// its own folder, listed here, with a handler in functions/ that composes it.
// biome-ignore lint/suspicious/noExplicitAny: definitions differ in their credentials type
export const PROVIDERS: ReadonlyArray<ProviderDefinition<any>> = [ncloudCdss, otcCss, huaweicloudCss];
