import * as z from 'zod/mini';
import { validationFailed } from '../../errors.ts';
import { secretString } from '../credentials.ts';
import type { ProviderDefinition, Target } from '../types.ts';
import { createCssClient } from './client.ts';
import { type CssCloud, cssSettings, OTC_CLOUD } from './cloud.ts';
import { cssRegions } from './endpoints.ts';
import { otcCssAdminPasswordPolicy } from './password-policy.ts';

// CSS project ids are 32 lower-case hex digits; validated before they are put in a URL.
const PROJECT_ID_PATTERN = /^[0-9a-f]{32}$/;
const projectId = z
  .string({ error: 'must be a string' })
  .check(z.regex(PROJECT_ID_PATTERN, { error: 'must be a project id (32 lower-case hex digits)' }));

const otcCredentials = z.object({
  accessKey: secretString,
  secretKey: secretString,
  /** The account's project id per region, for requests that do not name one. */
  projectIds: z.optional(
    z.record(z.string(), z.string().check(z.regex(PROJECT_ID_PATTERN, { error: 'must be a project id' })), {
      error: 'must be an object of region to project id',
    }),
  ),
});

export type OtcCredentials = z.infer<typeof otcCredentials>;

// CSS cluster ids are lower-case UUIDs (e.g. 4f3deec3-efa8-4598-bf91-560aad1377a3).
const CLUSTER_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Cloud Search Service on one cloud: change the password of a security-mode cluster's admin user.
 * The same definition serves every cloud that offers the CSS API; only the cloud differs.
 */
export const createCssProvider = (cloud: CssCloud): ProviderDefinition<OtcCredentials> => ({
  id: cloud.id,
  operation: 'reset-admin-password',
  credentialsFolder: cloud.credentialsFolder,
  regions: (config) => cssRegions(cloud, config),
  checkSettings: (config) => {
    cssSettings(cloud, config);
  },
  clusterId: z.string({ error: 'must be a string' }).check(
    z.regex(CLUSTER_ID_PATTERN, {
      error: "must be the cluster's id, a lower-case UUID such as 4f3deec3-efa8-4598-bf91-560aad1377a3",
    }),
  ),
  projectId,
  credentials: otcCredentials,
  passwordPolicy: otcCssAdminPasswordPolicy,
  completeTarget(target: Target, credentials: OtcCredentials): Target {
    if (target.projectId !== undefined) return target;
    const projectId = credentials.projectIds?.[target.region];
    if (projectId === undefined) {
      throw validationFailed([
        {
          field: 'projectId',
          rule: `is required: not in the request, and the account's credentials have no project id for ${target.region}`,
        },
      ]);
    }
    return { ...target, projectId };
  },
  createClient: createCssClient(cloud),
});

/** Open Telekom Cloud, Cloud Search Service. */
export const otcCss = createCssProvider(OTC_CLOUD);
