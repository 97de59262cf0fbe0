import { createHash } from 'node:crypto';
import { definedOnly } from '../defined.ts';
import { errorReport, type ResetError } from '../errors.ts';
import { generatePassword } from '../password/policy.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import { replayedFailure, type VersionRecord } from './lease-table.ts';
import {
  answerFor,
  assertOwnSecret,
  describeOwnSecret,
  discard,
  leaseFor,
  leaseKeyOf,
  logAfterCompletion,
  markApplied,
  type Rotation,
  type RotationDeps,
  type RotationRequest,
  readPassword,
  releaseUnlessKept,
  replayOf,
  sendReset,
  sendVersion,
  settleOtherPending,
  targetOf,
  unknownDiscard,
  usernameOf,
  versionRecordKey,
} from './protocol.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  defaultSecretName,
  type SecretState,
  versionWithStage,
} from './secret-store.ts';

export {
  isReplay,
  outcomeOfFailedReset,
  type ResetOutcome,
  type RotationDeps,
  type RotationRequest,
} from './protocol.ts';

/**
 * Secrets Manager version id (ClientRequestToken, 32–64 chars) derived from the idempotency key:
 * a retry with the same key addresses the same pending version and so re-sends the same password.
 */
export const versionIdFor = (secretName: string, idempotencyKey: string): string => {
  const hex = createHash('sha256').update(`${secretName}\n${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/** A rotation a caller asked for under an idempotency key, which records how it ended. */
interface KeyedRotation<C> extends Rotation<C> {
  keyRecord: string;
  fingerprint: string;
}

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
  const answer = answerFor(request, target);

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
  const rotation: KeyedRotation<C> = {
    deps,
    request,
    target,
    client,
    secretName,
    versionId,
    keyRecord,
    fingerprint,
    leaseKey: leaseKeyOf(target),
    lease: leaseFor(request, versionId),
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

const rotateStored = async <C>(
  rotation: KeyedRotation<C>,
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
      envelope.account,
    );
    assertOwnSecret(secret, rotation.target);
  }
  const report: PasswordReport = { source, stored: true, secretArn: secret.arn, versionId };
  const stages = secret.versions.get(versionId);
  const record = await deps.leases.versionRecord(versionRecordKey(secretName, versionId));

  if (stages?.includes(AWSPENDING)) {
    // Our version, left pending by an earlier attempt of this key. If the provider applied it,
    // only the promotion is left; otherwise re-send exactly that password, unless it was refused
    // for good (and the label's removal failed then): that discard is finished, nothing is sent.
    if (record?.state === 'applied') return promoteOwn(rotation, secret, report, {});
    if (record?.state === 'discarded' && !record.error?.retryable) {
      await deps.secrets.removePending(secretName, versionId);
      throw replayedFailure(record.error ?? unknownDiscard);
    }
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

const sendOwn = async <C>(
  rotation: KeyedRotation<C>,
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
const recordRefusal = async <C>(rotation: KeyedRotation<C>, error: ResetError): Promise<void> => {
  if (error.retryable) return;
  await rotation.deps.leases
    .finishKey(rotation.keyRecord, rotation.fingerprint, 'failed', errorReport(error))
    .catch(logAfterCompletion('record the failure'));
};

/** Records that the provider applied the version, then makes it AWSCURRENT. */
const promoteOwn = async <C>(
  rotation: KeyedRotation<C>,
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

/** A supplied password the caller asked us not to store: the same protocol, without a version. */
const resetUnstored = async <C>(rotation: KeyedRotation<C>): Promise<SuccessResult> => {
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
