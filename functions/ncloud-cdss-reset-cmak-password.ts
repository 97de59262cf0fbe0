import middy from '@middy/core';
import { resetMiddleware, resetOperation } from '../lib/handler.ts';
import { ncloudCdss } from '../lib/providers/ncloud/index.ts';

/** POST /ncloud/cdss/{region}/clusters/{clusterId}/cmak-password, EventBridge requests, Step Functions tasks. */
export const handler = middy().use(resetMiddleware(ncloudCdss)).handler(resetOperation(ncloudCdss));
