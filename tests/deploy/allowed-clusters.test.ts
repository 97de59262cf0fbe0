import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The stage's allowedClusters becomes ALLOWED_CLUSTERS, checked at package time with the handlers'
// own reader (deploy/allowed-clusters.cjs, lib/config.ts).

const allowedClusters = createRequire(import.meta.url)('../../deploy/allowed-clusters.cjs') as (options: {
  resolveVariable: (name: string) => Promise<unknown>;
}) => Promise<string>;
const withParam = (value: unknown) => allowedClusters({ resolveVariable: async () => value });

describe('allowedClusters at package time', () => {
  it('is empty (no restriction) when the stage lists none', async () => {
    expect(await withParam([])).toBe('');
    expect(await withParam(undefined)).toBe('');
    expect(await withParam('')).toBe('');
  });

  it('passes a YAML list or a --param JSON list on as JSON', async () => {
    expect(await withParam(['otc-css/eu-de/*', 'ncloud-cdss/KR/1009123'])).toBe(
      '["otc-css/eu-de/*","ncloud-cdss/KR/1009123"]',
    );
    expect(await withParam('["huaweicloud-css/*/*"]')).toBe('["huaweicloud-css/*/*"]');
  });

  it('refuses a malformed pattern, an unknown provider, and a value that is not a list', async () => {
    await expect(withParam(['otc-css/eu-de'])).rejects.toThrow('is not a provider/region/clusterId pattern');
    await expect(withParam(['otc/eu-de/x'])).rejects.toThrow(
      'allowedClusters names no known provider in otc/eu-de/x',
    );
    await expect(withParam('otc-css/eu-de/*')).rejects.toThrow('allowedClusters is not valid JSON');
    await expect(withParam({ a: 1 })).rejects.toThrow(
      'allowedClusters must be a list of provider/region/clusterId patterns',
    );
  });
});
