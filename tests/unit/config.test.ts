import { describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.ts';

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
});
