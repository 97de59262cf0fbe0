import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
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
});
