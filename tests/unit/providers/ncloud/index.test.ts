import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { ncloudCdss } from '../../../../lib/providers/ncloud/index.ts';

describe('the Naver Cloud CDSS provider definition', () => {
  it('names its operation and its credentials folder', () => {
    expect({
      id: ncloudCdss.id,
      operation: ncloudCdss.operation,
      folder: ncloudCdss.credentialsFolder,
    }).toEqual({
      id: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      folder: 'ncloud',
    });
  });

  it.each([
    ['1009123', true],
    ['1', true],
    ['0123', false],
    ['12a', false],
    ['../1', false],
    ['1234567890123456789', false],
  ])('accepts %j as a serviceGroupInstanceNo: %s', (clusterId, valid) => {
    expect(ncloudCdss.clusterId.safeParse(clusterId).success).toBe(valid);
  });

  it('requires both keys in its credentials, and nothing else', () => {
    expect(ncloudCdss.credentials.safeParse({ accessKey: 'AK', secretKey: 'SK' }).success).toBe(true);
    expect(ncloudCdss.credentials.safeParse({ accessKey: 'AK' }).success).toBe(false);
    expect(ncloudCdss.credentials.safeParse({ accessKey: '', secretKey: 'SK' }).success).toBe(false);
  });

  it('admits the regions of the configured site', () => {
    expect(ncloudCdss.regions(readConfig({}))).toEqual(['KR', 'SGN', 'JPN']);
    expect(ncloudCdss.regions(readConfig({ NCLOUD_CDSS_SITE: 'fin' }))).toEqual(['KR']);
  });
});
