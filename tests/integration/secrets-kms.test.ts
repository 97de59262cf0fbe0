import { describe, expect, it, vi } from 'vitest';
import { invokeInMode, useSuite } from './suite.ts';

// SECRETS_KMS_KEY_ID set on the stack: every secret the handlers create is created under that key
// (the sandbox keeps no keys, so the CreateSecret requests it receives are what is checked).

const KEY = 'arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9';
const suite = useSuite({ env: { SECRETS_KMS_KEY_ID: KEY } });

describe.each([['ncloud-cdss'], ['otc-css'], ['huaweicloud-css']])(
  '%s with SECRETS_KMS_KEY_ID',
  (providerId) => {
    it("creates a cluster's secret under the configured KMS key, and rotates as before", async () => {
      const createSecret = vi.spyOn(suite.sandbox.aws, 'createSecret');
      try {
        const { id } = suite.cluster(providerId);
        const harness = suite.harness(providerId);
        const result = await invokeInMode(suite.handler(providerId), 'direct', {
          envelope: { provider: providerId, region: harness.region, clusterId: id },
          httpEvent: () => undefined,
        });
        expect(result.ok).toBe(true);
        const name = suite.secretName(providerId, id);
        expect(createSecret.mock.calls.map(([input]) => input)).toEqual([
          expect.objectContaining({ Name: name, KmsKeyId: KEY }),
        ]);
        const stored = suite.sandbox.aws.secretValue(name)?.password as string;
        suite.secretsUsed.add(stored);
        expect(harness.clusterPassword(id)).toBe(stored);
      } finally {
        createSecret.mockRestore();
      }
    });
  },
);
