import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { huaweicloudCss } from '../../../../lib/providers/css/huaweicloud.ts';
import { otcCss } from '../../../../lib/providers/css/otc.ts';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';
const RESET_PATH = `/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`;

/** Where the client would send a reset in `region` under this configuration (dry run). */
const resetUrl = (config: ReturnType<typeof readConfig>, region: string) =>
  otcCss
    .createClient({
      credentials: { accessKey: 'AK', secretKey: 'SK' },
      target: { provider: 'otc-css', region, clusterId: CLUSTER, projectId: PROJECT },
      config,
      deadline: Date.now() + 1_000,
    })
    .prepareReset('N3w-Admin-Pass!').url;

describe('CSS cloud settings (Open Telekom Cloud)', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['https://css.{region}.otc.t-systems.com', false],
    ['https://css.eu-ch2.sc.otc.t-systems.com', true],
  ])('treats OTC_CSS_ENDPOINT=%j as an override: %s, and so admits eu-ch2 or not', (value, overridden) => {
    const config = readConfig(value === undefined ? {} : { OTC_CSS_ENDPOINT: value });
    expect(otcCss.regions(config).includes('eu-ch2')).toBe(overridden);
  });

  it('defaults to the public endpoint pattern, and takes an override without its trailing slash', () => {
    expect(resetUrl(readConfig({}), 'eu-de')).toBe(`https://css.eu-de.otc.t-systems.com${RESET_PATH}`);
    const override = readConfig({ OTC_CSS_ENDPOINT: 'http://127.0.0.1:9/{region}/' });
    expect(resetUrl(override, 'eu-de')).toBe(`http://127.0.0.1:9/eu-de${RESET_PATH}`);
    expect(resetUrl(override, 'eu-ch2')).toBe(`http://127.0.0.1:9/eu-ch2${RESET_PATH}`);
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
