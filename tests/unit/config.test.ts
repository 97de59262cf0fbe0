import { describe, expect, it } from 'vitest';
import { OTC_CSS_DEFAULT_ENDPOINT, readConfig } from '../../lib/config.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';
import { otcCss } from '../../lib/providers/otc/index.ts';

describe('readConfig', () => {
  it('applies the documented defaults for a stage', () => {
    expect(readConfig({ STAGE: 'prod' })).toMatchObject({
      credentialsPrefix: '/cluster-password-reset/prod/credentials',
      secretPrefix: 'cluster-password-reset/prod',
      lockTable: 'cluster-password-reset-prod-leases',
      eventBusName: 'default',
      ncloudCdssSite: 'public',
      ncloudCdssEndpoint: 'https://clouddatastreamingservice.apigw.ntruss.com',
      ncloudCdssResetApi: 'resetMGMTPassword',
      otcCssEndpoint: 'https://css.{region}.otc.t-systems.com',
      otcCssEndpointOverridden: false,
      providerTimeoutMs: 10_000,
    });
  });

  it('scopes the secret names by stage, as the lease table is, unless SECRET_PREFIX says otherwise', () => {
    expect(readConfig({}).secretPrefix).toBe('cluster-password-reset/dev');
    expect(readConfig({ STAGE: 'staging' }).secretPrefix).toBe('cluster-password-reset/staging');
    expect(readConfig({ STAGE: 'prod', SECRET_PREFIX: 'cluster-password-reset' })).toMatchObject({
      secretPrefix: 'cluster-password-reset',
      lockTable: 'cluster-password-reset-prod-leases',
    });
    expect(readConfig({ STAGE: 'prod', SECRET_PREFIX: 'passwords/kafka/' }).secretPrefix).toBe(
      'passwords/kafka',
    );
  });

  it.each([
    [undefined, false],
    ['', false],
    [OTC_CSS_DEFAULT_ENDPOINT, false],
    ['https://css.eu-ch2.sc.otc.t-systems.com', true],
  ])('treats OTC_CSS_ENDPOINT=%j as an override: %s, and so admits eu-ch2 or not', (value, overridden) => {
    const config = readConfig(value === undefined ? {} : { OTC_CSS_ENDPOINT: value });
    expect(config.otcCssEndpointOverridden).toBe(overridden);
    expect(otcCss.regions(config).includes('eu-ch2')).toBe(overridden);
  });

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
    expect(config.ncloudCdssEndpoint).toBe(endpoint);
    expect(ncloudCdss.regions(config)).toEqual(regions);
  });

  it('chooses the Naver reset API: resetMGMTPassword unless the retired one is asked for', () => {
    expect(readConfig({}).ncloudCdssResetApi).toBe('resetMGMTPassword');
    expect(readConfig({ NCLOUD_CDSS_RESET_API: '' }).ncloudCdssResetApi).toBe('resetMGMTPassword');
    expect(readConfig({ NCLOUD_CDSS_RESET_API: 'resetCMAKPassword' }).ncloudCdssResetApi).toBe(
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
  ])('refuses %j at start', (env, message) => {
    expect(() => readConfig(env)).toThrow(message);
  });

  it('refuses at start a lease that does not outlive the function', () => {
    expect(() => readConfig({ LEASE_SECONDS: '29', FUNCTION_TIMEOUT_SECONDS: '29' })).toThrow(
      'LEASE_SECONDS (29) must exceed the function timeout (29 s)',
    );
    expect(readConfig({ LEASE_SECONDS: '30', FUNCTION_TIMEOUT_SECONDS: '29' }).leaseSeconds).toBe(30);
    // Without a declared timeout (tests, local tools) nothing is compared; fractions are allowed.
    expect(readConfig({ LEASE_SECONDS: '0.5' }).leaseSeconds).toBe(0.5);
    expect(() => readConfig({ LEASE_SECONDS: '0' })).toThrow('LEASE_SECONDS must be a positive number');
  });

  it('refuses a timeout that is not a positive integer', () => {
    expect(() => readConfig({ PROVIDER_TIMEOUT_MS: '-5' })).toThrow(
      'PROVIDER_TIMEOUT_MS must be a positive integer',
    );
  });
});
