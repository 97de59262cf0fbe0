import * as z from 'zod/mini';
import { validationFailed } from '../../errors.ts';
import type { ProviderDefinition, Target } from '../types.ts';
import { createCssClient } from './client.ts';
import { type CssCloud, cssSettings } from './cloud.ts';
import { type CssCredentials, cssCredentials, PROJECT_ID_PATTERN } from './credentials.ts';
import { cssRegions } from './endpoints.ts';
import { cssAdminPasswordPolicy } from './password-policy.ts';

const projectId = z
  .string({ error: 'must be a string' })
  .check(z.regex(PROJECT_ID_PATTERN, { error: 'must be a project id (32 lower-case hex digits)' }));

// CSS cluster ids are lower-case UUIDs (e.g. 4f3deec3-efa8-4598-bf91-560aad1377a3).
const CLUSTER_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Cloud Search Service on one cloud: change the password of a security-mode cluster's admin user.
 * The same definition serves every cloud that offers the CSS API; only the cloud differs.
 */
export const createCssProvider = (cloud: CssCloud): ProviderDefinition<CssCredentials> => ({
  id: cloud.id,
  operation: 'reset-admin-password',
  description: `Change the admin password of ${/^[AEIOU]/.test(cloud.name) ? 'an' : 'a'} ${cloud.name} CSS cluster and keep it in Secrets Manager`,
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
  credentials: cssCredentials,
  passwordPolicy: cssAdminPasswordPolicy,
  completeTarget(target: Target, credentials: CssCredentials): Target {
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
