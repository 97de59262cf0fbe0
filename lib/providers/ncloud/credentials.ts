import * as z from 'zod/mini';
import { secretString } from '../credentials.ts';

// The credential set of a Naver Cloud account ({CREDENTIALS_PREFIX}/ncloud/{account}): an API
// access key and its secret key.

export const ncloudCredentials = z.object({ accessKey: secretString, secretKey: secretString });

export type NcloudCredentials = z.infer<typeof ncloudCredentials>;
