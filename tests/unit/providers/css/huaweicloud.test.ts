import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { huaweicloudCss } from '../../../../lib/providers/css/huaweicloud.ts';
import { PROVIDERS } from '../../../../lib/providers/registry.ts';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';

// Huawei Cloud's CssRegion (huaweicloud-sdk-css), as published.
const SDK_REGIONS = [
  'cn-south-1',
  'cn-east-3',
  'cn-north-4',
  'cn-north-2',
  'cn-north-1',
  'cn-north-9',
  'cn-east-2',
  'cn-south-4',
  'cn-southwest-2',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-1',
  'sa-brazil-1',
  'na-mexico-1',
  'la-north-2',
  'af-south-1',
  'la-south-2',
  'cn-south-2',
  'tr-west-1',
  'ap-southeast-4',
  'ae-ad-1',
  'cn-east-5',
  'my-kualalumpur-1',
  'eu-west-101',
  'af-north-1',
  'ru-moscow-1',
  'me-east-1',
  'ap-southeast-5',
  'cn-east-4',
  'cn-north-11',
  'cn-north-12',
  'cn-southwest-3',
];

const prepared = (env: Record<string, string>, region: string) =>
  huaweicloudCss
    .createClient({
      credentials: { accessKey: 'HWCACCESSKEY', secretKey: 'hwc-secret-key' },
      target: { provider: 'huaweicloud-css', region, clusterId: CLUSTER, projectId: PROJECT },
      config: readConfig(env),
      deadline: Date.now() + 1_000,
    })
    .prepareReset('N3w-Admin-Pass!');

/** The host the client signs its requests for: the URL of the reset, without its path. */
const baseUrl = (env: Record<string, string>, region: string) =>
  prepared(env, region).url.replace(`/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`, '');

describe('Huawei Cloud CSS provider definition', () => {
  it('is registered, with its own id, operation and credentials folder', () => {
    expect(PROVIDERS).toContain(huaweicloudCss);
    expect(huaweicloudCss).toMatchObject({
      id: 'huaweicloud-css',
      operation: 'reset-admin-password',
      credentialsFolder: 'huaweicloud',
    });
  });

  it("offers the SDK's regions, and no more when the endpoint is overridden", () => {
    expect(huaweicloudCss.regions(readConfig({}))).toEqual(SDK_REGIONS);
    expect(
      huaweicloudCss.regions(readConfig({ HUAWEICLOUD_CSS_ENDPOINT: 'https://css.{region}.example' })),
    ).toEqual(SDK_REGIONS);
    // OTC's regions are another cloud's.
    expect(huaweicloudCss.regions(readConfig({}))).not.toContain('eu-de');
  });

  it.each([
    ['ap-southeast-1', 'https://css.ap-southeast-1.myhuaweicloud.com'],
    ['eu-west-101', 'https://css.eu-west-101.myhuaweicloud.com'],
    ['cn-north-1', 'https://es.cn-north-1.myhuaweicloud.com'],
    ['cn-east-2', 'https://es.cn-east-2.myhuaweicloud.com'],
  ])('reaches %s at %s by default', (region, url) => {
    expect(baseUrl({}, region)).toBe(url);
    // serverless.yml passes an empty value when the stage sets no override.
    expect(baseUrl({ HUAWEICLOUD_CSS_ENDPOINT: '' }, region)).toBe(url);
  });

  it('takes an override with `{region}` for every region, the old ones included', () => {
    const env = { HUAWEICLOUD_CSS_ENDPOINT: 'https://css-vpc.{region}.example.internal/' };
    expect(baseUrl(env, 'ap-southeast-1')).toBe('https://css-vpc.ap-southeast-1.example.internal');
    expect(baseUrl(env, 'cn-north-1')).toBe('https://css-vpc.cn-north-1.example.internal');
  });

  it("ignores OTC's endpoint variable", () => {
    expect(baseUrl({ OTC_CSS_ENDPOINT: 'http://127.0.0.1:1/{region}' }, 'ap-southeast-1')).toBe(
      'https://css.ap-southeast-1.myhuaweicloud.com',
    );
  });

  it('builds and signs the reset for the Huawei host of the region (dry run)', () => {
    const path = `/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`;
    const signedHeaders = ['content-type', 'host', 'x-project-id', 'x-sdk-date'];
    expect(prepared({}, 'ap-southeast-1')).toEqual({
      method: 'POST',
      url: `https://css.ap-southeast-1.myhuaweicloud.com${path}`,
      signedHeaders,
    });
    expect(prepared({}, 'cn-north-1').url).toBe(`https://es.cn-north-1.myhuaweicloud.com${path}`);
    expect(prepared({ HUAWEICLOUD_CSS_ENDPOINT: 'https://css.{region}.example' }, 'cn-east-2').url).toBe(
      `https://css.cn-east-2.example${path}`,
    );
  });

  it('takes the project id of the region from the credentials', () => {
    const complete = huaweicloudCss.completeTarget as NonNullable<typeof huaweicloudCss.completeTarget>;
    const target = { provider: 'huaweicloud-css', region: 'ap-southeast-1', clusterId: CLUSTER };
    const credentials = { accessKey: 'a', secretKey: 's', projectIds: { 'ap-southeast-1': PROJECT } };
    expect(complete(target, credentials).projectId).toBe(PROJECT);
    expect(() => complete({ ...target, region: 'cn-north-4' }, credentials)).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });
});
