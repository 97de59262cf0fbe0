import * as z from 'zod/mini';
import type { ProviderDefinition } from '../types.ts';
import { createNcloudClient } from './client.ts';
import { type NcloudCredentials, ncloudCredentials } from './credentials.ts';
import { ncloudRegions } from './endpoints.ts';
import { ncloudCmakPasswordPolicy } from './password-policy.ts';
import { ncloudSettings } from './settings.ts';

/** Naver Cloud Platform, Cloud Data Streaming Service: reset the manager (CMAK) account password. */
export const ncloudCdss: ProviderDefinition<NcloudCredentials> = {
  id: 'ncloud-cdss',
  operation: 'reset-cmak-password',
  description: 'Reset the CMAK password of a Naver Cloud CDSS cluster and keep it in Secrets Manager',
  credentialsFolder: 'ncloud',
  // Each site admits only its own regions (NCLOUD_CDSS_SITE).
  regions: (config) => ncloudRegions(ncloudSettings(config).site),
  checkSettings: (config) => {
    ncloudSettings(config);
  },
  clusterId: z
    .string({ error: 'must be a string' })
    .check(
      z.regex(/^[1-9][0-9]{0,17}$/, { error: "must be the cluster's serviceGroupInstanceNo (digits only)" }),
    ),
  credentials: ncloudCredentials,
  passwordPolicy: ncloudCmakPasswordPolicy,
  createClient: createNcloudClient,
};
