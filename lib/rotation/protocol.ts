import { randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Envelope } from '../envelope.ts';
import { errorReport, isResetError, ResetError, validationFailed } from '../errors.ts';
import { logger } from '../logger.ts';
import type { ClusterFacts, ProviderClient, ProviderDefinition, Target } from '../providers/types.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import type { RequestFingerprints } from './fingerprint.ts';
import type { LeaseTable, VersionRecord } from './lease-table.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  identityMismatch,
  type SecretState,
  type SecretStore,
  versionWithStage,
} from './secret-store.ts';

// The parts of the rotation protocol that every way of rotating shares: the HTTP, EventBridge and
// direct request (rotate.ts) and Secrets Manager's own rotation steps (native.ts). One protocol:
// whichever started a pending version, the other finishes or discards it by the same rules.

export interface RotationDeps {
  secrets: SecretStore;
  leases: LeaseTable;
  fingerprints: RequestFingerprints;
  config: Config;
}

export interface RotationRequest<C = unknown> {
  provider: ProviderDefinition<C>;
  envelope: Envelope & { idempotencyKey: string };
  credentials: C;
  requestId: string;
  /** Epoch ms by which the rotation must have answered (the Lambda deadline less a reserve). */
  deadline: number;
  /** Epoch ms at which Lambda ends this invocation: after it, the invocation is surely gone. */
  invocationDeadline: number;
}

/**
 * How a reset ended at the provider. A definitive refusal was not applied; anything else that is
 * not a success (a timeout, a dropped connection, a 5xx, an unexpected error) may still be applied,
 * even later, and is treated as applied-maybe.
 */
export type ResetOutcome = 'applied' | 'not-applied' | 'unknown';

const NOT_APPLIED: ReadonlySet<string> = new Set([
  'PROVIDER_REJECTED',
  'PASSWORD_POLICY_VIOLATION',
  'PROVIDER_AUTH_FAILED',
  'CLUSTER_NOT_FOUND',
  'CLUSTER_STATE_CONFLICT',
  'PRECONDITION_FAILED',
  'PROVIDER_THROTTLED',
]);

export const outcomeOfFailedReset = (error: unknown): Exclude<ResetOutcome, 'applied'> =>
  isResetError(error) && NOT_APPLIED.has(error.code) ? 'not-applied' : 'unknown';

// Results answered again (from a key's record, or a native step with nothing left to do): not a
// new attempt, so no outcome event. Kept apart from the result itself, which must be answered
// exactly as the first time.
const replays = new WeakSet<object>();
export const isReplay = (result: unknown): boolean =>
  typeof result === 'object' && result !== null && replays.has(result);
export const replayOf = (result: SuccessResult): SuccessResult => {
  replays.add(result);
  return result;
};

/** Everything one rotation knows, passed through its named steps. */
export interface Rotation<C = unknown> {
  deps: RotationDeps;
  request: RotationRequest<C>;
  target: Target;
  client: ProviderClient;
  secretName: string;
  versionId: string;
  leaseKey: string;
  lease: { owner: string; holder: string; holderDeadline: number };
  /** True once a send's outcome may be "applied later": from then on the lease is never released. */
  keepLease: boolean;
  answer(password: PasswordReport, extra?: Partial<SuccessResult>): SuccessResult;
}

export const targetOf = <C>(request: RotationRequest<C>): Target => {
  const { provider, envelope, credentials } = request;
  const base: Target = { provider: provider.id, region: envelope.region, clusterId: envelope.clusterId };
  if (envelope.projectId !== undefined) base.projectId = envelope.projectId;
  return provider.completeTarget ? provider.completeTarget(base, credentials) : base;
};

// An earlier send whose outcome is unknown may still be applied, even after a later success of the
// same password: until the lease expires nothing else may be sent to this cluster.
/** The normalized success result of this request, as every way of rotating answers it. */
export const answerFor =
  <C>(request: RotationRequest<C>, target: Target) =>
  (password: PasswordReport, extra: Partial<SuccessResult> = {}): SuccessResult => ({
    ok: true,
    provider: request.provider.id,
    operation: request.provider.operation,
    region: target.region,
    clusterId: target.clusterId,
    dryRun: request.envelope.dryRun,
    password,
    ...extra,
    requestId: request.requestId,
    idempotencyKey: request.envelope.idempotencyKey,
    completedAt: new Date().toISOString(),
  });

/** One lease per cluster, whichever secret or way of rotating. */
export const leaseKeyOf = (target: Target): string =>
  `lease#${target.provider}#${target.region}#${target.clusterId}`;

/** The lease of one rotation (its version id) as this invocation holds it. */
export const leaseFor = <C>(request: RotationRequest<C>, versionId: string): Rotation<C>['lease'] => ({
  owner: versionId,
  holder: `${request.requestId}/${randomUUID()}`,
  holderDeadline: request.invocationDeadline,
});

export const releaseUnlessKept = async <C>(rotation: Rotation<C>): Promise<void> => {
  const { leases } = rotation.deps;
  await (rotation.keepLease
    ? leases.handOver(rotation.leaseKey, rotation.lease).catch(logAfterCompletion('hand over the lease'))
    : leases.release(rotation.leaseKey, rotation.lease).catch(logAfterCompletion('release the lease')));
};

export const logAfterCompletion = (step: string) => (error: unknown) => {
  logger.warn(`could not ${step}`, { errorName: error instanceof Error ? error.name : 'unknown' });
};

export const versionRecordKey = (secretName: string, versionId: string) =>
  `version#${secretName}#${versionId}`;

/** The secret if it exists, once its identity tags name this cluster; VALIDATION_FAILED otherwise. */
export const describeOwnSecret = async <C>(rotation: Rotation<C>): Promise<SecretState | undefined> => {
  const secret = await rotation.deps.secrets.describe(rotation.secretName);
  if (secret) assertOwnSecret(secret, rotation.target);
  return secret;
};

export const assertOwnSecret = (secret: SecretState, target: Target): void => {
  const mismatch = identityMismatch(secret, target);
  if (mismatch) throw validationFailed([{ field: 'secretId', rule: mismatch }]);
};

export const unknownDiscard = {
  code: 'PROVIDER_REJECTED',
  message: 'The provider refused this password earlier',
  retryable: false,
} as const;

export const usernameOf = (facts: ClusterFacts) =>
  facts.username === undefined ? {} : { username: facts.username };

export const readPassword = async <C>(rotation: Rotation<C>, versionId: string): Promise<string> => {
  const stored = await rotation.deps.secrets.read(rotation.secretName, versionId);
  if (!stored?.password)
    throw new ResetError('SECRET_STORE_FAILED', 'The pending secret version holds no password');
  return stored.password;
};

export type SendResult =
  | { outcome: 'applied'; providerRequestId?: string }
  | { outcome: 'not-applied'; error: ResetError }
  /** Refused now, but an earlier send of the same password may have been applied: proves nothing. */
  | { outcome: 'inconclusive'; error: ResetError }
  | { outcome: 'unknown'; error: unknown };

/**
 * Sends a version's password and classifies the outcome. Before a version's first send (since it
 * was stored, or last refused) a "sent" record is written, so that every later reader knows the
 * provider may have it, even if this process dies right after. A refusal counts as "not applied"
 * only for such a first send in a lease no earlier invocation left behind; a refusal of a re-send
 * is inconclusive, since an earlier send may have been applied. After an unknown outcome the lease
 * is kept until it expires.
 */
export const sendVersion = async <C>(
  rotation: Rotation<C>,
  versionId: string,
  password: string,
  record: VersionRecord | undefined,
): Promise<SendResult> => {
  const firstSend = record?.state !== 'sent';
  if (firstSend) {
    await rotation.deps.leases.markVersion(versionRecordKey(rotation.secretName, versionId), {
      state: 'sent',
    });
  }
  return sendReset(rotation, password, firstSend);
};

export const sendReset = async <C>(
  rotation: Rotation<C>,
  password: string,
  firstSend: boolean,
): Promise<SendResult> => {
  try {
    return { outcome: 'applied', ...(await rotation.client.reset(password)) };
  } catch (error) {
    if (outcomeOfFailedReset(error) === 'not-applied') {
      const refusal = error as ResetError;
      if (firstSend && !rotation.keepLease) return { outcome: 'not-applied', error: refusal };
      logger.warn(
        'a re-sent password was refused, but an earlier send may have been applied: it stays pending',
        {
          code: refusal.code,
        },
      );
      return { outcome: 'inconclusive', error: refusal };
    }
    rotation.keepLease = true;
    logger.warn('reset outcome unknown: the lease is kept until it expires', {
      errorName: error instanceof Error ? error.name : 'unknown',
    });
    return { outcome: 'unknown', error };
  }
};

// Written before AWSCURRENT moves: a version is promoted only once this record says "applied", so
// that a retry finding the version no longer pending can tell completed from discarded.
export const markApplied = async <C>(rotation: Rotation<C>, versionId: string): Promise<void> => {
  try {
    await rotation.deps.leases.markVersion(versionRecordKey(rotation.secretName, versionId), {
      state: 'applied',
    });
  } catch (error) {
    // The provider holds the pending password: keep the lease so that only this key goes on.
    rotation.keepLease = true;
    throw error;
  }
};

// Recorded before the label is removed, for the same reason: no label and no record means applied.
export const discard = async <C>(
  rotation: Rotation<C>,
  versionId: string,
  error: ResetError,
): Promise<void> => {
  const { deps, secretName } = rotation;
  logger.info('discarding a pending password the provider refused', { versionId, code: error.code });
  await deps.leases.markVersion(versionRecordKey(secretName, versionId), {
    state: 'discarded',
    error: errorReport(error),
  });
  await deps.secrets.removePending(secretName, versionId);
};

const assertAbandoned = async <C>(rotation: Rotation<C>, versionId: string): Promise<void> => {
  const { deps, secretName } = rotation;
  const createdAt = await deps.secrets.createdAt(secretName, versionId);
  if (createdAt !== undefined && Date.now() - createdAt < deps.config.leaseSeconds * 1000) {
    throw new ResetError(
      'ROTATION_IN_PROGRESS',
      'A Secrets Manager rotation of this secret has started; retry when it has finished',
    );
  }
  logger.info('discarding an empty pending version of an abandoned Secrets Manager rotation', { versionId });
};

/**
 * Another attempt's pending version may be what the provider holds now: finish it (re-send,
 * promote) before anything else, or discard it if the provider refuses it for good. A passing
 * refusal (busy, throttled) leaves it pending and fails this rotation retryably.
 */
export const settleOtherPending = async <C>(
  rotation: Rotation<C>,
  secret: SecretState | undefined,
): Promise<SecretState | undefined> => {
  if (!secret) return secret;
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending === undefined || pending === rotation.versionId) return secret;
  const { deps, secretName, client, request } = rotation;
  const record = await deps.leases.versionRecord(versionRecordKey(secretName, pending));
  if (record?.state === 'discarded') {
    // Refused for good earlier; only the label's removal failed. It is never sent again.
    await deps.secrets.removePending(secretName, pending);
    return (await deps.secrets.describe(secretName)) ?? secret;
  }
  if (record?.state !== 'applied') {
    const stored = await deps.secrets.read(secretName, pending);
    if (!stored?.password) {
      // Nothing the provider could have. An empty version is a rotation Secrets Manager has started
      // (createSecret fills it): in progress while young, abandoned once older than a lease.
      if (stored === undefined) await assertAbandoned(rotation, pending);
      await deps.secrets.removePending(secretName, pending);
      return (await deps.secrets.describe(secretName)) ?? secret;
    }
    logger.info('rolling forward a pending password left by an earlier attempt', { versionId: pending });
    const sent = await sendVersion(rotation, pending, stored.password, record);
    if (sent.outcome === 'unknown' || sent.outcome === 'inconclusive') throw sent.error;
    if (sent.outcome === 'not-applied') {
      if (sent.error.retryable) {
        // Not applied, and still pending: the next send is again a first one.
        await deps.leases.markVersion(versionRecordKey(secretName, pending), {
          state: 'refused',
          error: errorReport(sent.error),
        });
        throw sent.error;
      }
      await discard(rotation, pending, sent.error);
      return (await deps.secrets.describe(secretName)) ?? secret;
    }
    await markApplied(rotation, pending);
  }
  await deps.secrets.promote(secretName, pending, versionWithStage(secret, AWSCURRENT));
  // The cluster applies the change before it takes the next one.
  await client.awaitSettled(request.deadline);
  await client.assertReady();
  return (await deps.secrets.describe(secretName)) ?? secret;
};
