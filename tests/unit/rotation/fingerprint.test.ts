import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { RequestFingerprints } from '../../../lib/rotation/fingerprint.ts';

const sm = mockClient(SecretsManagerClient);
const SECRET_NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1';

describe('request fingerprints', () => {
  beforeEach(() => {
    sm.reset();
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'per-deployment-key' });
  });

  it('fingerprints a supplied password with the per-deployment key, never the password itself', async () => {
    const fingerprints = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    const request = {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      account: 'default',
      secretName: SECRET_NAME,
      storePassword: false,
    };
    const a = await fingerprints.of({ ...request, password: 'Supplied-pw-1!' });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-1!' })).toBe(a);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-2!' })).not.toBe(a);
    expect(await fingerprints.of(request)).not.toBe(a);
    expect(await fingerprints.of({ ...request, password: 'Supplied-pw-1!', clusterId: '2' })).not.toBe(a);
    // The key is read once per execution environment.
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: 'fp-key' },
    ]);
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'another-deployment' });
    const other = new RequestFingerprints(new SecretsManagerClient({ region: 'eu-central-1' }), 'fp-key');
    expect(await other.of({ ...request, password: 'Supplied-pw-1!' })).not.toBe(a);
  });

  it('refuses to fingerprint a supplied password without the per-deployment key, or when it cannot be read', async () => {
    const request = {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      account: 'default',
      secretName: SECRET_NAME,
      storePassword: true,
      password: 'Supplied-pw-1!',
    };
    const unconfigured = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      undefined,
    );
    await expect(unconfigured.of(request)).rejects.toMatchObject({ code: 'INTERNAL' });
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).rejects(
      Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
    );
    const unreadable = new RequestFingerprints(
      new SecretsManagerClient({ region: 'eu-central-1' }),
      'fp-key',
    );
    await expect(unreadable.of(request)).rejects.toMatchObject({
      code: 'SECRET_STORE_FAILED',
      message: 'Secrets Manager GetSecretValue of the fingerprint key failed (AccessDeniedException)',
    });
    // A failed read is not cached: the next request tries again.
    sm.on(GetSecretValueCommand, { SecretId: 'fp-key' }).resolves({ SecretString: 'per-deployment-key' });
    expect(await unreadable.of(request)).toMatch(/^[0-9a-f]{64}$/);
  });
});
