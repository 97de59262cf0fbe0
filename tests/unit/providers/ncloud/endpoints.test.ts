import { describe, expect, it } from 'vitest';
import {
  clusterInfoPath,
  NCLOUD_SITES,
  ncloudRegions,
  resetPasswordPath,
} from '../../../../lib/providers/ncloud/endpoints.ts';

describe('Naver Cloud CDSS sites, regions and paths', () => {
  it('admits each site only its own regions', () => {
    expect(ncloudRegions('public')).toEqual(['KR', 'SGN', 'JPN']);
    expect(ncloudRegions('gov')).toEqual(['KR', 'KRS']);
    expect(ncloudRegions('fin')).toEqual(['KR']);
  });

  it('has one host per site', () => {
    expect(Object.fromEntries(Object.entries(NCLOUD_SITES).map(([site, { host }]) => [site, host]))).toEqual({
      public: 'https://clouddatastreamingservice.apigw.ntruss.com',
      gov: 'https://clouddatastreamingservice.apigw.gov-ntruss.com',
      fin: 'https://fin-clouddatastreamingservice.apigw.fin-ntruss.com',
    });
  });

  it.each([
    ['public', 'KR', '/api/v1'],
    ['public', 'SGN', '/api/sgn-v1'],
    ['public', 'JPN', '/api/jpn-v1'],
    ['gov', 'KR', '/api/v1'],
    ['gov', 'KRS', '/api/krs-v1'],
    ['fin', 'KR', '/api/v1'],
  ] as const)('%s site, region %s: prefix %s for every API', (site, region, prefix) => {
    expect(resetPasswordPath(site, 'resetMGMTPassword', region, '1009123')).toBe(
      `${prefix}/cluster/resetMGMTPassword/1009123`,
    );
    expect(resetPasswordPath(site, 'resetCMAKPassword', region, '1009123')).toBe(
      `${prefix}/cluster/resetCMAKPassword/1009123`,
    );
    expect(clusterInfoPath(site, region, '1009123')).toBe(`${prefix}/cluster/getClusterInfoList/1009123`);
  });

  it.each([
    ['public', 'KRS'],
    ['gov', 'SGN'],
    ['fin', 'JPN'],
    ['fin', 'KRS'],
    ['public', 'toString'],
  ] as const)('refuses to build a path on the %s site for region %s', (site, region) => {
    expect(() => resetPasswordPath(site, 'resetMGMTPassword', region, '1')).toThrow(
      `region ${region} is not served by the ${site} site`,
    );
  });
});
