import { describe, expect, it } from 'vitest';
import { readConfig } from '../../../../lib/config.ts';
import { clusterPath, resetPasswordPath } from '../../../../lib/providers/css/endpoints.ts';
import { otcCss } from '../../../../lib/providers/css/otc.ts';

const PROJECT = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const CLUSTER = '4f3deec3-efa8-4598-bf91-560aad1377a3';

/** The URL the client would send the reset of a cluster in `region` to (dry run: nothing is sent). */
const resetUrl = (env: Record<string, string>, region: string) =>
  otcCss
    .createClient({
      credentials: { accessKey: 'AK', secretKey: 'SK' },
      target: { provider: 'otc-css', region, clusterId: CLUSTER, projectId: PROJECT },
      config: readConfig(env),
      deadline: Date.now() + 1_000,
    })
    .prepareReset('N3w-Admin-Pass!').url;

describe('OTC CSS provider definition', () => {
  it('names the provider, the operation and the credentials folder', () => {
    expect(otcCss).toMatchObject({
      id: 'otc-css',
      operation: 'reset-admin-password',
      credentialsFolder: 'otc',
    });
  });

  it('offers eu-ch2 only when the endpoint is overridden', () => {
    expect(otcCss.regions(readConfig({}))).toEqual(['eu-de', 'eu-nl']);
    expect(otcCss.regions(readConfig({ OTC_CSS_ENDPOINT: 'https://css.{region}.example' }))).toEqual([
      'eu-de',
      'eu-nl',
      'eu-ch2',
    ]);
  });

  it('accepts lower-case UUID cluster ids only', () => {
    expect(otcCss.clusterId.safeParse(CLUSTER).success).toBe(true);
    for (const bad of [
      CLUSTER.toUpperCase(),
      `${CLUSTER}/`,
      `${CLUSTER}%2F..`,
      '../4f3deec3-efa8-4598-bf91-560aad1377a3',
      '4f3deec3efa84598bf91560aad1377a3',
      ` ${CLUSTER}`,
      '4f3deec3-efa8-4598-bf91-560aad1377a\u0430',
      1234,
    ]) {
      const result = otcCss.clusterId.safeParse(bad);
      expect(result.success).toBe(false);
    }
    expect(otcCss.clusterId.safeParse('x').error?.issues[0]?.message).toContain('lower-case UUID');
  });

  it('reads credentials with optional project ids per region', () => {
    expect(otcCss.credentials.safeParse({ accessKey: 'a', secretKey: 's' }).success).toBe(true);
    expect(
      otcCss.credentials.safeParse({ accessKey: 'a', secretKey: 's', projectIds: { 'eu-de': PROJECT } })
        .success,
    ).toBe(true);
    expect(
      otcCss.credentials.safeParse({ accessKey: 'a', secretKey: 's', projectIds: { 'eu-de': 'not-hex' } })
        .success,
    ).toBe(false);
    expect(otcCss.credentials.safeParse({ accessKey: '', secretKey: 's' }).success).toBe(false);
  });

  it('takes the project id from the request, else from the credentials, else refuses', () => {
    const complete = otcCss.completeTarget as NonNullable<typeof otcCss.completeTarget>;
    const target = { provider: 'otc-css' as const, region: 'eu-nl', clusterId: CLUSTER };
    const other = 'ffffffffffffffffffffffffffffffff';
    const credentials = { accessKey: 'a', secretKey: 's', projectIds: { 'eu-nl': PROJECT } };
    expect(complete({ ...target, projectId: other }, credentials).projectId).toBe(other);
    expect(complete(target, credentials).projectId).toBe(PROJECT);
    expect(() => complete({ ...target, region: 'eu-de' }, credentials)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        fields: [
          {
            field: 'projectId',
            rule: "is required: not in the request, and the account's credentials have no project id for eu-de",
          },
        ],
      }),
    );
    expect(() => complete(target, { accessKey: 'a', secretKey: 's' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });

  it('builds the published paths and the regional endpoint', () => {
    expect(clusterPath(PROJECT, CLUSTER)).toBe(`/v1.0/${PROJECT}/clusters/${CLUSTER}`);
    expect(resetPasswordPath(PROJECT, CLUSTER)).toBe(`/v1.0/${PROJECT}/clusters/${CLUSTER}/password/reset`);
    const path = resetPasswordPath(PROJECT, CLUSTER);
    expect(resetUrl({}, 'eu-nl')).toBe(`https://css.eu-nl.otc.t-systems.com${path}`);
    expect(resetUrl({ OTC_CSS_ENDPOINT: 'http://127.0.0.1:1/' }, 'eu-de')).toBe(`http://127.0.0.1:1${path}`);
    expect(() => resetUrl({}, 'eu-ch2')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
