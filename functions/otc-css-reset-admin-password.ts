import middy from '@middy/core';
import { resetMiddleware, resetOperation } from '../lib/handler.ts';
import { otcCss } from '../lib/providers/css/otc.ts';

/** POST /otc/css/{region}/clusters/{clusterId}/admin-password, EventBridge requests, Step Functions tasks. */
export const handler = middy().use(resetMiddleware(otcCss)).handler(resetOperation(otcCss));
