import { describe, expect, it } from 'vitest';
import { clusterPatterns, readConfig } from '../../../lib/config.ts';
import { clusterAllowList } from '../../../lib/middleware/cluster-allow-list.ts';
import { invocationMode } from '../../../lib/middleware/invocation.ts';
import { normalizeEvent } from '../../../lib/middleware/normalize-event.ts';
import { validate } from '../../../lib/middleware/validate.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import { runChain } from '../../support/chain.ts';

const config = readConfig({ STAGE: 'test' });
const chainFor = (allowed: string | undefined) => [
  invocationMode(),
  normalizeEvent({ provider: 'ncloud-cdss' }),
  validate({ provider: ncloudCdss, config }),
  clusterAllowList({
    provider: 'ncloud-cdss',
    allowed: allowed === undefined ? undefined : clusterPatterns(allowed),
  }),
];
const direct = (clusterId: string, region = 'KR') => ({ provider: 'ncloud-cdss', region, clusterId });

describe('cluster-allow-list', () => {
  it('lets every cluster through when the stage names none', async () => {
    expect((await runChain(chainFor(undefined), direct('1009123'))).error).toBeUndefined();
  });

  it('lets through the clusters the stage lists, by exact id or * pattern, and refuses the others', async () => {
    const chain = chainFor('ncloud-cdss/KR/1009123, ncloud-cdss/SGN/20*');
    expect((await runChain(chain, direct('1009123'))).error).toBeUndefined();
    expect((await runChain(chain, direct('2001', 'SGN'))).error).toBeUndefined();
    for (const refused of [direct('10091234'), direct('1009123', 'JPN'), direct('3001', 'SGN')]) {
      const run = await runChain(chain, refused);
      expect(run.error).toMatchObject({
        code: 'VALIDATION_FAILED',
        fields: [
          { field: 'clusterId', rule: "is not one of this stage's allowed clusters (allowedClusters)" },
        ],
      });
    }
  });

  it('reads a JSON list too, and stops the function at start on a malformed one', () => {
    expect(clusterPatterns('["otc-css/eu-de/*"]')[0]?.test('otc-css/eu-de/abc')).toBe(true);
    expect(clusterPatterns('["otc-css/eu-de/*"]')[0]?.test('otc-css/eu-de/a/b')).toBe(false);
    expect(() => clusterPatterns('[]')).toThrow('at least one');
    expect(() => clusterPatterns('otc-css/eu-de')).toThrow('is not a provider/region/clusterId pattern');
    expect(() => readConfig({ ALLOWED_CLUSTERS: '[not json' })).toThrow('ALLOWED_CLUSTERS');
  });
});
