import { describe, expect, it } from 'vitest';
import { OTC_CSS_DEFAULT_ENDPOINT, readConfig } from '../../lib/config.ts';
import { otcCss } from '../../lib/providers/otc/index.ts';

describe('readConfig', () => {
  it('applies the defaults of DESIGN.md for a stage', () => {
    expect(readConfig({ STAGE: 'prod' })).toMatchObject({
      credentialsPrefix: '/cluster-password-reset/prod/credentials',
      secretPrefix: 'cluster-password-reset',
      lockTable: 'cluster-password-reset-prod-leases',
      eventBusName: 'default',
      ncloudCdssEndpoint: 'https://clouddatastreamingservice.apigw.ntruss.com',
      otcCssEndpoint: 'https://css.{region}.otc.t-systems.com',
      otcCssEndpointOverridden: false,
      providerTimeoutMs: 10_000,
    });
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

  it('refuses a timeout that is not a positive integer', () => {
    expect(() => readConfig({ PROVIDER_TIMEOUT_MS: '-5' })).toThrow(
      'PROVIDER_TIMEOUT_MS must be a positive integer',
    );
  });
});
