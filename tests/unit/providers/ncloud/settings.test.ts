import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { ncloudCdss } from '../../../../lib/providers/ncloud/index.ts';
import { ncloudSettings } from '../../../../lib/providers/ncloud/settings.ts';

describe('Naver Cloud settings', () => {
  it.each([
    [{}, 'https://clouddatastreamingservice.apigw.ntruss.com', ['KR', 'SGN', 'JPN']],
    [{ NCLOUD_CDSS_SITE: '' }, 'https://clouddatastreamingservice.apigw.ntruss.com', ['KR', 'SGN', 'JPN']],
    [{ NCLOUD_CDSS_SITE: 'gov' }, 'https://clouddatastreamingservice.apigw.gov-ntruss.com', ['KR', 'KRS']],
    [{ NCLOUD_CDSS_SITE: 'fin' }, 'https://fin-clouddatastreamingservice.apigw.fin-ntruss.com', ['KR']],
    [
      { NCLOUD_CDSS_SITE: 'gov', NCLOUD_CDSS_ENDPOINT: 'http://127.0.0.1:4510/' },
      'http://127.0.0.1:4510',
      ['KR', 'KRS'],
    ],
    [
      { NCLOUD_CDSS_SITE: 'gov', NCLOUD_CDSS_ENDPOINT: '' },
      'https://clouddatastreamingservice.apigw.gov-ntruss.com',
      ['KR', 'KRS'],
    ],
  ])('Naver Cloud site from %j: endpoint %s, regions %j', (env, endpoint, regions) => {
    const config = readConfig(env);
    expect(ncloudSettings(config).endpoint).toBe(endpoint);
    expect(ncloudCdss.regions(config)).toEqual(regions);
  });

  it('chooses the Naver reset API: resetMGMTPassword unless the retired one is asked for', () => {
    expect(ncloudSettings(readConfig({})).resetApi).toBe('resetMGMTPassword');
    expect(ncloudSettings(readConfig({ NCLOUD_CDSS_RESET_API: '' })).resetApi).toBe('resetMGMTPassword');
    expect(ncloudSettings(readConfig({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' })).resetApi).toBe(
      'resetCMAKPassword',
    );
  });

  it.each([
    [{ NCLOUD_CDSS_SITE: 'government' }, 'NCLOUD_CDSS_SITE must be one of public, gov, fin'],
    [{ NCLOUD_CDSS_SITE: 'constructor' }, 'NCLOUD_CDSS_SITE must be one of public, gov, fin'],
    [
      { NCLOUD_CDSS_RESET_API: 'resetcmakpassword' },
      'NCLOUD_CDSS_RESET_API must be one of resetMGMTPassword, resetCMAKPassword',
    ],
    [
      { NCLOUD_CDSS_ENDPOINT: 'http://clouddatastreamingservice.apigw.ntruss.com' },
      'NCLOUD_CDSS_ENDPOINT must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not http://clouddatastreamingservice.apigw.ntruss.com',
    ],
    [
      { NCLOUD_CDSS_ENDPOINT: 'http://10.1.2.3:8080/' },
      'NCLOUD_CDSS_ENDPOINT must be an https:// URL; http:// is allowed only to a loopback host',
    ],
    [{ NCLOUD_CDSS_ENDPOINT: 'ncloud-proxy:443' }, 'NCLOUD_CDSS_ENDPOINT must be an https:// URL'],
  ])('refuses %j at start', (env, message) => {
    expect(() => ncloudSettings(readConfig(env))).toThrow(message);
  });

  it('refuses a bad endpoint when the provider checks its settings, as the handler does at start', () => {
    const config = readConfig({ NCLOUD_CDSS_ENDPOINT: 'http://proxy.internal' });
    expect(() => ncloudCdss.checkSettings?.(config)).toThrow(
      'NCLOUD_CDSS_ENDPOINT must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not http://proxy.internal',
    );
    expect(() =>
      ncloudCdss.checkSettings?.(readConfig({ NCLOUD_CDSS_ENDPOINT: 'https://proxy.internal' })),
    ).not.toThrow();
  });

  it('reads the environment once per configuration', () => {
    const config = readConfig({ NCLOUD_CDSS_SITE: 'gov' });
    expect(ncloudSettings(config)).toBe(ncloudSettings(config));
    expect(ncloudSettings(readConfig({})).site).toBe('public');
  });
});
