import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { huaweicloudCss } from '../../../../lib/providers/huaweicloud/index.ts';
import { cssSettings, OTC_CLOUD } from '../../../../lib/providers/otc/cloud.ts';
import { otcCss } from '../../../../lib/providers/otc/index.ts';

describe('CSS cloud settings (Open Telekom Cloud)', () => {
  it.each([
    [undefined, false],
    ['', false],
    [OTC_CLOUD.defaultEndpoint, false],
    ['https://css.eu-ch2.sc.otc.t-systems.com', true],
  ])('treats OTC_CSS_ENDPOINT=%j as an override: %s, and so admits eu-ch2 or not', (value, overridden) => {
    const config = readConfig(value === undefined ? {} : { OTC_CSS_ENDPOINT: value });
    expect(cssSettings(OTC_CLOUD, config).overridden).toBe(overridden);
    expect(otcCss.regions(config).includes('eu-ch2')).toBe(overridden);
  });

  it('defaults to the public endpoint pattern, and takes an override without its trailing slash', () => {
    expect(cssSettings(OTC_CLOUD, readConfig({}))).toEqual({
      endpoint: 'https://css.{region}.otc.t-systems.com',
      overridden: false,
    });
    expect(cssSettings(OTC_CLOUD, readConfig({ OTC_CSS_ENDPOINT: 'http://127.0.0.1:9/{region}/' }))).toEqual({
      endpoint: 'http://127.0.0.1:9/{region}',
      overridden: true,
    });
  });

  it.each([
    [
      'OTC_CSS_ENDPOINT',
      otcCss,
      'http://css.{region}.sc.otc.t-systems.com',
      'http://css.region.sc.otc.t-systems.com',
    ],
    [
      'HUAWEICLOUD_CSS_ENDPOINT',
      huaweicloudCss,
      'http://css-vpc.{region}.example.internal/',
      'http://css-vpc.region.example.internal',
    ],
    [
      'HUAWEICLOUD_CSS_ENDPOINT',
      huaweicloudCss,
      'http://192.168.0.10:9200/{region}',
      'http://192.168.0.10:9200',
    ],
  ])('refuses %s=%s at start: https only, but for a loopback host', (variable, provider, value, shown) => {
    const config = readConfig({ [variable]: value });
    const message = `${variable} must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not ${shown}`;
    expect(() => provider.checkSettings?.(config)).toThrow(message);
    // The regions depend on the endpoint: they cannot be read from a refused one either.
    expect(() => provider.regions(config)).toThrow(message);
  });

  it('takes https and loopback http endpoints, `{region}` anywhere', () => {
    for (const value of [
      'https://css.{region}.sc.otc.t-systems.com',
      'http://127.0.0.1:4566/{region}',
      'http://localhost/{region}',
    ]) {
      expect(() => otcCss.checkSettings?.(readConfig({ OTC_CSS_ENDPOINT: value }))).not.toThrow();
      expect(() =>
        huaweicloudCss.checkSettings?.(readConfig({ HUAWEICLOUD_CSS_ENDPOINT: value })),
      ).not.toThrow();
    }
  });
});
