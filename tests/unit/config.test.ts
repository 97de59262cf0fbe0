import { describe, expect, it } from 'vitest';
import { providerEndpoint, readConfig } from '../../lib/config.ts';

describe('readConfig', () => {
  it('applies the documented defaults for a stage', () => {
    expect(readConfig({ STAGE: 'prod' })).toMatchObject({
      credentialsPrefix: '/cluster-password-reset/prod/credentials',
      secretPrefix: 'cluster-password-reset/prod',
      lockTable: 'cluster-password-reset-prod-leases',
      eventBusName: 'default',
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

  it('reads SECRETS_KMS_KEY_ID when it is set, and nothing when it is empty', () => {
    expect(readConfig({ SECRETS_KMS_KEY_ID: 'alias/cluster-passwords' }).secretsKmsKeyId).toBe(
      'alias/cluster-passwords',
    );
    for (const env of [{}, { SECRETS_KMS_KEY_ID: '' }, { SECRETS_KMS_KEY_ID: '  ' }]) {
      expect(readConfig(env)).not.toHaveProperty('secretsKmsKeyId');
    }
  });
});

describe('providerEndpoint', () => {
  it.each([
    'https://css.{region}.otc.t-systems.com',
    'https://{region}.example.com:8443/base/',
    'https://clouddatastreamingservice.apigw.ntruss.com',
    // Loopback hosts, where the sandbox and the tests listen: http stays on the machine.
    'http://127.0.0.1:4566',
    'http://127.0.0.1:4566/{region}',
    'http://127.5.6.7',
    'http://127.1:80',
    'http://localhost:3000/{region}/',
    'http://LOCALHOST',
    'http://[::1]:8080',
    'http://[0:0:0:0:0:0:0:1]/',
  ])('accepts %s as it is', (value) => {
    expect(providerEndpoint(value, 'OTC_CSS_ENDPOINT')).toBe(value);
  });

  it.each([
    ['http://css.{region}.otc.t-systems.com', 'http://css.region.otc.t-systems.com'],
    ['http://10.0.0.1:8080/{region}', 'http://10.0.0.1:8080'],
    ['http://128.0.0.1', 'http://128.0.0.1'],
    ['http://localhost.example.com', 'http://localhost.example.com'],
    ['http://127.0.0.1.nip.io', 'http://127.0.0.1.nip.io'],
    ['http://[::ffff:10.0.0.1]', 'http://[::ffff:a00:1]'],
    ['http://{region}.localhost', 'http://region.localhost'],
    ['ftp://127.0.0.1/', 'ftp://127.0.0.1'],
    ['ws://localhost', 'ws://localhost'],
  ])('refuses %s, naming the variable and the host', (value, shown) => {
    expect(() => providerEndpoint(value, 'HUAWEICLOUD_CSS_ENDPOINT')).toThrow(
      `HUAWEICLOUD_CSS_ENDPOINT must be an https:// URL; http:// is allowed only to a loopback host (127.0.0.0/8, localhost, [::1]), not ${shown}`,
    );
  });

  it.each(['css.eu-de.otc.t-systems.com', '//css.eu-de.example', 'https://', ''])(
    'refuses %j, which is not a URL',
    (value) => {
      expect(() => providerEndpoint(value, 'NCLOUD_CDSS_ENDPOINT')).toThrow(
        'NCLOUD_CDSS_ENDPOINT must be an https:// URL (it is not a URL)',
      );
    },
  );
});
