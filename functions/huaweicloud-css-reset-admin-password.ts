import middy from '@middy/core';
import { resetMiddleware, resetOperation } from '../lib/handler.ts';
import { huaweicloudCss } from '../lib/providers/css/huaweicloud.ts';

/** POST /huaweicloud/css/{region}/clusters/{clusterId}/admin-password, EventBridge requests, Step Functions tasks. */
export const handler = middy().use(resetMiddleware(huaweicloudCss)).handler(resetOperation(huaweicloudCss));
