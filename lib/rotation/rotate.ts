import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import { definedOnly } from '../defined.ts';
import type { Envelope } from '../envelope.ts';
import { errorReport, isResetError, ResetError, validationFailed } from '../errors.ts';
import { logger } from '../logger.ts';
import { generatePassword } from '../password/policy.ts';
import type { ClusterFacts, ProviderClient, ProviderDefinition, Target } from '../providers/types.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import type { RequestFingerprints } from './fingerprint.ts';
import { type LeaseTable, replayedFailure, type VersionRecord } from './lease-table.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  defaultSecretName,
  identityMismatch,
  type SecretState,
  type SecretStore,
  versionWithStage,
} from './secret-store.ts';

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

// Results answered again from a key's record: not a new attempt, so no outcome event. Kept apart
// from the result itself, which must be answered exactly as the first time.
const replays = new WeakSet<object>();
export const isReplay = (result: unknown): boolean =>
  typeof result === 'object' && result !== null && replays.has(result);
const replayOf = (result: SuccessResult): SuccessResult => {
  replays.add(result);
  return result;
};

/**
 * Secrets Manager version id (ClientRequestToken, 32–64 chars) derived from the idempotency key:
 * a retry with the same key addresses the same pending version and so re-sends the same password.
 */
export const versionIdFor = (secretName: string, idempotencyKey: string): string => {
  const hex = createHash('sha256').update(`${secretName}\n${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

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

/** Everything one rotation knows, passed through its named steps. */
interface Rotation<C> {
  deps: RotationDeps;
  request: RotationRequest<C>;
  target: Target;
  client: ProviderClient;
  secretName: string;
  versionId: string;
  keyRecord: string;
  fingerprint: string;
  leaseKey: string;
  lease: { owner: string; holder: string; holderDeadline: number };
  /** True once a send's outcome may be "applied later": from then on the lease is never released. */
  keepLease: boolean;
  answer(password: PasswordReport, extra?: Partial<SuccessResult>): SuccessResult;
}

const targetOf = <C>(request: RotationRequest<C>): Target => {
  const { provider, envelope, credentials } = request;
  const base: Target = { provider: provider.id, region: envelope.region, clusterId: envelope.clusterId };
  if (envelope.projectId !== undefined) base.projectId = envelope.projectId;
  return provider.completeTarget ? provider.completeTarget(base, credentials) : base;
};

/**
 * The rotation protocol, safe when a provider's answer is lost, when another key rotates the same
 * cluster, and when the process dies at any await:
 *   bind the key → lease (re-entrant for the same version) → check the cluster → check the
 *   secret's identity → finish or discard another attempt's pending version → store ours as
 *   AWSPENDING → record "sent" → reset → record "applied" → AWSCURRENT → record the key's
 *   result → release.
 * After an unknown outcome the lease is kept until it expires, so that nothing else is sent while
 * the provider may still apply ours; only a retry with the same key goes on, re-sending the same
 * password. A password refused at its first send is discarded and never sent again; a refused
 * re-send proves nothing and stays pending.
 */
export const rotatePassword = async <C>(
  deps: RotationDeps,
  request: RotationRequest<C>,
): Promise<SuccessResult> => {
  const { provider, envelope } = request;
  const target = targetOf(request);
  const client = provider.createClient({
    credentials: request.credentials,
    target,
    config: deps.config,
    deadline: request.deadline,
  });
  const source: PasswordReport['source'] = envelope.password === undefined ? 'generated' : 'supplied';
  const answer = (password: PasswordReport, extra: Partial<SuccessResult> = {}): SuccessResult => ({
    ok: true,
    provider: provider.id,
    operation: provider.operation,
    region: target.region,
    clusterId: target.clusterId,
    dryRun: envelope.dryRun,
    password,
    ...extra,
    requestId: request.requestId,
    idempotencyKey: envelope.idempotencyKey,
    completedAt: new Date().toISOString(),
  });

  if (envelope.dryRun) {
    const password = envelope.password ?? generatePassword(provider.passwordPolicy);
    return answer({ source, stored: false }, { request: client.prepareReset(password) });
  }

  const secretName = envelope.secretId ?? defaultSecretName(deps.config.secretPrefix, target);
  const keyRecord = `key#${provider.id}#${envelope.idempotencyKey}`;
  const fingerprint = await deps.fingerprints.of({
    provider: provider.id,
    region: target.region,
    clusterId: target.clusterId,
    projectId: target.projectId,
    account: envelope.account,
    secretName,
    storePassword: envelope.storePassword,
    password: envelope.password,
  });
  const bound = await deps.leases.bindKey(keyRecord, fingerprint);
  if (bound.state === 'completed') return replayOf(bound.outcome as SuccessResult);
  if (bound.state === 'failed') throw replayedFailure(bound.outcome as Parameters<typeof replayedFailure>[0]);

  const versionId = versionIdFor(secretName, envelope.idempotencyKey);
  const rotation: Rotation<C> = {
    deps,
    request,
    target,
    client,
    secretName,
    versionId,
    keyRecord,
    fingerprint,
    leaseKey: `lease#${target.provider}#${target.region}#${target.clusterId}`,
    lease: {
      owner: versionId,
      holder: `${request.requestId}/${randomUUID()}`,
      holderDeadline: request.invocationDeadline,
    },
    keepLease: false,
    answer,
  };
  // A re-entered lease means an earlier invocation of this rotation ended without releasing it (killed,
  // timed out, or an unknown outcome): what it sent may still be applied, so the lease stays until it
  // expires, whatever happens now.
  rotation.keepLease = (await deps.leases.acquire(rotation.leaseKey, rotation.lease)) === 'reentered';
  try {
    const result = envelope.storePassword
      ? await rotateStored(rotation, source)
      : await resetUnstored(rotation);
    await deps.leases
      .finishKey(keyRecord, fingerprint, 'completed', result)
      .catch(logAfterCompletion('record the result'));
    await releaseUnlessKept(rotation);
    return result;
  } catch (error) {
    await releaseUnlessKept(rotation);
    throw error;
  }
};

// An earlier send whose outcome is unknown may still be applied, even after a later success of the
// same password: until the lease expires nothing else may be sent to this cluster.
const releaseUnlessKept = async <C>(rotation: Rotation<C>): Promise<void> => {
  const { leases } = rotation.deps;
  await (rotation.keepLease
    ? leases.handOver(rotation.leaseKey, rotation.lease).catch(logAfterCompletion('hand over the lease'))
    : leases.release(rotation.leaseKey, rotation.lease).catch(logAfterCompletion('release the lease')));
};

const logAfterCompletion = (step: string) => (error: unknown) => {
  logger.warn(`could not ${step}`, { errorName: error instanceof Error ? error.name : 'unknown' });
};

const versionRecordKey = (secretName: string, versionId: string) => `version#${secretName}#${versionId}`;

/** The secret if it exists, once its identity tags name this cluster; VALIDATION_FAILED otherwise. */
const describeOwnSecret = async <C>(rotation: Rotation<C>): Promise<SecretState | undefined> => {
  const secret = await rotation.deps.secrets.describe(rotation.secretName);
  if (secret) assertOwnSecret(secret, rotation.target);
  return secret;
};

const assertOwnSecret = (secret: SecretState, target: Target): void => {
  const mismatch = identityMismatch(secret, target);
  if (mismatch) throw validationFailed([{ field: 'secretId', rule: mismatch }]);
};

const rotateStored = async <C>(
  rotation: Rotation<C>,
  source: PasswordReport['source'],
): Promise<SuccessResult> => {
  const { deps, request, client, secretName, versionId } = rotation;
  const { provider, envelope } = request;
  // The cluster and the secret are checked before anything is written: a request for an unknown
  // or busy cluster, or naming another cluster's secret, leaves nothing behind.
  const facts = await client.assertReady();
  let secret = await describeOwnSecret(rotation);
  secret = await settleOtherPending(rotation, secret);
  if (!secret) {
    secret = await deps.secrets.create(
      secretName,
      rotation.target,
      versionIdFor(secretName, '(placeholder)'),
    );
    assertOwnSecret(secret, rotation.target);
  }
  const report: PasswordReport = { source, stored: true, secretArn: secret.arn, versionId };
  const stages = secret.versions.get(versionId);
  const record = await deps.leases.versionRecord(versionRecordKey(secretName, versionId));

  if (stages?.includes(AWSPENDING)) {
    // Our version, left pending by an earlier attempt of this key. If the provider applied it,
    // only the promotion is left; otherwise re-send exactly that password.
    if (record?.state === 'applied') return promoteOwn(rotation, secret, report, {});
    const password = await readPassword(rotation, versionId);
    return sendOwn(rotation, secret, report, password, record);
  }
  if (record?.state === 'applied' || (stages !== undefined && record === undefined)) {
    // Applied (promoted by us, or rolled forward by another rotation), perhaps since superseded:
    // the rotation this key asked for happened. Nothing is sent again.
    return rotation.answer(report);
  }
  if (record?.state === 'discarded') {
    if (!record.error?.retryable) throw replayedFailure(record.error ?? unknownDiscard);
    // Refused for a passing reason (busy, throttled): the same password, labelled pending again.
    const password = await readPassword(rotation, versionId);
    await deps.secrets.relabelPending(secretName, versionId, versionWithStage(secret, AWSPENDING));
    return sendOwn(rotation, secret, report, password, record);
  }

  const password = envelope.password ?? generatePassword(provider.passwordPolicy);
  await deps.secrets.putPending(secretName, versionId, {
    password,
    ...usernameOf(facts),
    provider: provider.id,
    region: rotation.target.region,
    clusterId: rotation.target.clusterId,
    rotatedAt: new Date().toISOString(),
  });
  return sendOwn(rotation, secret, report, password, record);
};

const unknownDiscard = {
  code: 'PROVIDER_REJECTED',
  message: 'The provider refused this password earlier',
  retryable: false,
} as const;

const usernameOf = (facts: ClusterFacts) =>
  facts.username === undefined ? {} : { username: facts.username };

const readPassword = async <C>(rotation: Rotation<C>, versionId: string): Promise<string> => {
  const stored = await rotation.deps.secrets.read(rotation.secretName, versionId);
  if (!stored.password)
    throw new ResetError('SECRET_STORE_FAILED', 'The pending secret version holds no password');
  return stored.password;
};

type SendResult =
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
const sendVersion = async <C>(
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

const sendReset = async <C>(
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

const sendOwn = async <C>(
  rotation: Rotation<C>,
  secret: SecretState,
  report: PasswordReport,
  password: string,
  record: VersionRecord | undefined,
): Promise<SuccessResult> => {
  const sent = await sendVersion(rotation, rotation.versionId, password, record);
  if (sent.outcome === 'unknown' || sent.outcome === 'inconclusive') throw sent.error;
  if (sent.outcome === 'not-applied') {
    await discard(rotation, rotation.versionId, sent.error);
    await recordRefusal(rotation, sent.error);
    throw sent.error;
  }
  return promoteOwn(rotation, secret, report, sent);
};

/** After a refusal for good, the key's record answers the same failure to every retry. */
const recordRefusal = async <C>(rotation: Rotation<C>, error: ResetError): Promise<void> => {
  if (error.retryable) return;
  await rotation.deps.leases
    .finishKey(rotation.keyRecord, rotation.fingerprint, 'failed', errorReport(error))
    .catch(logAfterCompletion('record the failure'));
};

/** Records that the provider applied the version, then makes it AWSCURRENT. */
const promoteOwn = async <C>(
  rotation: Rotation<C>,
  secret: SecretState,
  report: PasswordReport,
  outcome: { providerRequestId?: string },
): Promise<SuccessResult> => {
  const { deps, secretName, versionId, client, request } = rotation;
  await markApplied(rotation, versionId);
  await deps.secrets.promote(secretName, versionId, versionWithStage(secret, AWSCURRENT));
  const clusterState = await client.awaitSettled(request.deadline);
  return rotation.answer(report, definedOnly({ providerRequestId: outcome.providerRequestId, clusterState }));
};

// Written before AWSCURRENT moves: a version is promoted only once this record says "applied", so
// that a retry finding the version no longer pending can tell completed from discarded.
const markApplied = async <C>(rotation: Rotation<C>, versionId: string): Promise<void> => {
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
const discard = async <C>(rotation: Rotation<C>, versionId: string, error: ResetError): Promise<void> => {
  const { deps, secretName } = rotation;
  logger.info('discarding a pending password the provider refused', { versionId, code: error.code });
  await deps.leases.markVersion(versionRecordKey(secretName, versionId), {
    state: 'discarded',
    error: errorReport(error),
  });
  await deps.secrets.removePending(secretName, versionId);
};

/**
 * Another attempt's pending version may be what the provider holds now: finish it (re-send,
 * promote) before anything else, or discard it if the provider refuses it for good. A passing
 * refusal (busy, throttled) leaves it pending and fails this rotation retryably.
 */
const settleOtherPending = async <C>(
  rotation: Rotation<C>,
  secret: SecretState | undefined,
): Promise<SecretState | undefined> => {
  if (!secret) return secret;
  const pending = versionWithStage(secret, AWSPENDING);
  if (pending === undefined || pending === rotation.versionId) return secret;
  const { deps, secretName, client, request } = rotation;
  const record = await deps.leases.versionRecord(versionRecordKey(secretName, pending));
  if (record?.state !== 'applied') {
    const stored = await deps.secrets.read(secretName, pending);
    if (!stored.password) {
      // A pending version without a password holds nothing the provider could have.
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

/** A supplied password the caller asked us not to store: the same protocol, without a version. */
const resetUnstored = async <C>(rotation: Rotation<C>): Promise<SuccessResult> => {
  const { request, client } = rotation;
  const password = request.envelope.password as string;
  await client.assertReady();
  await settleOtherPending(rotation, await describeOwnSecret(rotation));
  // No version to record: a refusal of the supplied password is final only if no earlier
  // invocation of this request may still be sending it.
  const sent = await sendReset(rotation, password, true);
  if (sent.outcome === 'unknown' || sent.outcome === 'inconclusive') throw sent.error;
  if (sent.outcome === 'not-applied') {
    await recordRefusal(rotation, sent.error);
    throw sent.error;
  }
  const clusterState = await client.awaitSettled(request.deadline);
  return rotation.answer(
    { source: 'supplied', stored: false },
    definedOnly({ providerRequestId: sent.providerRequestId, clusterState }),
  );
};
