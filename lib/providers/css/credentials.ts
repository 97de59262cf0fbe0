import * as z from 'zod/mini';
import { secretString } from '../credentials.ts';

// The credential set of a CSS cloud's account ({CREDENTIALS_PREFIX}/otc/{account},
// {CREDENTIALS_PREFIX}/huaweicloud/{account}): an AK/SK pair, and the project id to use per region
// when a request names none.

/** CSS project ids are 32 lower-case hex digits; validated before they are put in a URL. */
export const PROJECT_ID_PATTERN = /^[0-9a-f]{32}$/;

export const cssCredentials = z.object({
  accessKey: secretString,
  secretKey: secretString,
  /** The account's project id per region, for requests that do not name one. */
  projectIds: z.optional(
    z.record(z.string(), z.string().check(z.regex(PROJECT_ID_PATTERN, { error: 'must be a project id' })), {
      error: 'must be an object of region to project id',
    }),
  ),
});

export type CssCredentials = z.infer<typeof cssCredentials>;
