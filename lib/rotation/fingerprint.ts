import { createHash, createHmac } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ResetError } from '../errors.ts';

// An idempotency key is bound to its request through a fingerprint kept in the key's record. A
// supplied password enters it only as an HMAC keyed with a per-deployment secret (created by the
// stack): the table never holds the password, nor a plain or salted hash that could be brute-forced
// from it.

interface FingerprintedRequest {
  provider: string;
  region: string;
  clusterId: string;
  projectId?: string | undefined;
  account: string;
  secretName: string;
  storePassword: boolean;
  password?: string | undefined;
}

export class RequestFingerprints {
  readonly #client: SecretsManagerClient;
  readonly #keySecretId: string | undefined;
  #key: Promise<Buffer> | undefined;

  constructor(client: SecretsManagerClient, keySecretId: string | undefined) {
    this.#client = client;
    this.#keySecretId = keySecretId;
  }

  async of(request: FingerprintedRequest): Promise<string> {
    const { password, ...fields } = request;
    const passwordMac =
      password === undefined
        ? null
        : createHmac('sha256', await this.#hmacKey())
            .update(password)
            .digest('hex');
    const canonical = JSON.stringify([
      fields.provider,
      fields.region,
      fields.clusterId,
      fields.projectId ?? null,
      fields.account,
      fields.secretName,
      fields.storePassword,
      passwordMac,
    ]);
    return createHash('sha256').update(canonical).digest('hex');
  }

  // Read once per execution environment, and only when a request supplies a password.
  #hmacKey(): Promise<Buffer> {
    this.#key ??= this.#load().catch((error: unknown) => {
      this.#key = undefined;
      throw error;
    });
    return this.#key;
  }

  async #load(): Promise<Buffer> {
    if (!this.#keySecretId) {
      throw new ResetError(
        'INTERNAL',
        'FINGERPRINT_KEY_SECRET is not configured; a supplied password cannot be bound to its key',
      );
    }
    try {
      const answer = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#keySecretId }));
      if (!answer.SecretString) throw new Error('empty fingerprint key');
      return Buffer.from(answer.SecretString, 'utf8');
    } catch (error) {
      throw new ResetError(
        'SECRET_STORE_FAILED',
        `Secrets Manager GetSecretValue of the fingerprint key failed (${error instanceof Error ? error.name : 'unknown error'})`,
        { cause: error },
      );
    }
  }
}
