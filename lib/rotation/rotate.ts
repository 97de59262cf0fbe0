import { createHash } from 'node:crypto';
import { definedOnly } from '../defined.ts';
import { type ErrorReport, validationFailed } from '../errors.ts';
import { generatePassword } from '../password/policy.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import { bindingMismatch, boundSecretGone, notTheClusterSecret } from './binding.ts';
import { prepare, type Rotation, type RotationDeps, type RotationRequest, withLease } from './context.ts';
import { keyRecordKey, replayedFailure } from './key-record.ts';
import { ownSecret, rollForward } from './protocol.ts';
import { replayOf } from './replay.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  defaultSecretName,
  identityMismatch,
  passwordValue,
  type SecretState,
  versionWithStage,
} from './secret-store.ts';
import { sendPending } from './state-machine.ts';
import { REFUSED_EARLIER } from './version-record.ts';

/**
 * Secrets Manager version id (ClientRequestToken, 32–64 chars) derived from the idempotency key:
 * a retry with the same key addresses the same pending version and so re-sends the same password.
 */
export const versionIdFor = (secretName: string, idempotencyKey: string): string => {
  const hex = createHash('sha256').update(`${secretName}\n${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

interface KeyedRequest {
  secretName: string;
  key: { record: string; fingerprint: string };
}

/**
 * A rotation a caller asked for (HTTP, EventBridge, Step Functions) under an idempotency key:
 *   bind the key → lease → check the cluster → check the secret's identity → finish or discard
 *   another attempt's pending version → store ours as AWSPENDING → send (state-machine.ts) →
 *   AWSCURRENT → record the key's answer → leave the lease.
 * A dry run is a preflight: the key's binding, the cluster and the secret are checked, read-only.
 */
export const rotatePassword = async <C>(
  deps: RotationDeps,
  request: RotationRequest<C>,
): Promise<SuccessResult> => {
  const prepared = prepare(deps, request);
  const { provider, envelope } = request;
  const secretName = envelope.secretId ?? defaultSecretName(deps.config.secretPrefix, prepared.target);
  const fingerprint = await deps.fingerprints.of({
    ...prepared.target,
    account: envelope.account,
    secretName,
    storePassword: envelope.storePassword,
    password: envelope.password,
  });
  const keyed: KeyedRequest = {
    secretName,
    key: { record: keyRecordKey(provider.id, envelope.idempotencyKey), fingerprint },
  };
  if (envelope.dryRun) return preflight(prepared, keyed);
  const bound = await deps.records.keys.bind(keyed.key.record, fingerprint);
  if (bound.state === 'completed') return replayOf(bound.outcome as SuccessResult);
  if (bound.state === 'failed') throw replayedFailure(bound.outcome as ErrorReport);
  const versionId = versionIdFor(secretName, envelope.idempotencyKey);
  return withLease(prepared, { ...keyed, versionId }, async (rotation) => {
    const result = envelope.storePassword ? await rotateStored(rotation) : await resetUnstored(rotation);
    await deps.records.keys.finish(keyed.key.record, fingerprint, 'completed', result);
    return { result };
  });
};

/** What a real run would check first, read-only: the key's binding, the cluster, the secret. */
const preflight = async <C>(
  prepared: ReturnType<typeof prepare<C>>,
  keyed: KeyedRequest,
): Promise<SuccessResult> => {
  const { deps, request, client, target } = prepared;
  const binding = await deps.records.keys.check(keyed.key.record, keyed.key.fingerprint);
  await client.assertReady();
  const secret = await ownSecret({ deps, target, secretName: keyed.secretName });
  // A real run refuses a bound secret deleted or created again since: so does its preflight.
  const cluster = await deps.records.bindings.read(target);
  const gone = cluster && boundSecretGone(cluster, secret);
  if (gone) throw gone;
  const password = request.envelope.password ?? generatePassword(request.provider.passwordPolicy);
  return prepared.answer(
    { source: request.envelope.password === undefined ? 'generated' : 'supplied', stored: false },
    {
      request: client.prepareReset(password),
      preflight: {
        idempotencyKey: binding ? 'bound-to-this-request' : 'unused',
        cluster: 'ready',
        secret: !request.envelope.storePassword ? 'not-used' : secret ? 'exists' : 'to-be-created',
      },
    },
  );
};

const keyExpired = () =>
  validationFailed([
    {
      field: 'idempotencyKey',
      rule: 'names a rotation whose records have expired (they are kept 7 days after it settled); use a new key',
    },
  ]);

const rotateStored = async <C>(rotation: Rotation<C>): Promise<SuccessResult> => {
  const { deps, client, secretName, versionId, request } = rotation;
  // The cluster and the secret are checked before anything is written: a request for an unknown
  // or busy cluster, or naming another cluster's secret, leaves nothing behind.
  const facts = await client.assertReady();
  const found = await ownSecret(rotation);
  const binding = await checkBinding(rotation, found);
  const secret = (await rollForward(rotation, found)) ?? (await createSecret(rotation));
  if (!binding) await bindCluster(rotation, secret);
  const report: PasswordReport = {
    source: request.envelope.password === undefined ? 'generated' : 'supplied',
    stored: true,
    secretArn: secret.arn,
    versionId,
  };
  const stages = secret.versions.get(versionId) ?? [];
  const pending = stages.includes(AWSPENDING);
  const record = await deps.records.versions.read(secretName, versionId, { pending });
  const send = (password: string) =>
    sendOwn(rotation, report, { versionId, password, record, whose: 'own', secret, promotion: 'now' });

  if (record?.state === 'discarded' && !record.error?.retryable) {
    // Refused for good: never sent again; every retry answers the refusal (and finishes the discard
    // if the label's removal failed the first time).
    if (pending) await deps.secrets.removePending(secretName, versionId);
    await deps.records.versions.settle(secretName, versionId);
    throw replayedFailure(record.error ?? REFUSED_EARLIER);
  }
  if (record?.state === 'applied') {
    // Applied; only the promotion may be left (it is not, if the version was made current and
    // perhaps superseded since: the rotation this key asked for happened).
    if (pending) await deps.secrets.promote(secretName, versionId, versionWithStage(secret, AWSCURRENT));
    await deps.records.versions.settle(secretName, versionId);
    return rotation.answer(
      report,
      definedOnly({ clusterState: await client.awaitSettled(request.deadline) }),
    );
  }
  if (pending) return send(await deps.secrets.readPassword(secretName, versionId));
  if (record) {
    // Not pending, not applied: refused for now (or its label was removed by hand). The same
    // password, labelled AWSPENDING again; a "sent" record makes it a re-send.
    const password = await deps.secrets.readPassword(secretName, versionId);
    await deps.secrets.relabelPending(secretName, versionId, versionWithStage(secret, AWSPENDING));
    return send(password);
  }
  if (stages.includes(AWSCURRENT)) return rotation.answer(report);
  // A version without a record: this key's rotation settled so long ago that its records expired.
  // (One that lost its labels too is found by PutSecretValue, which refuses to change a version.)
  if (stages.length > 0) throw keyExpired();
  const password = request.envelope.password ?? generatePassword(request.provider.passwordPolicy);
  const value = passwordValue(rotation.target, password, facts.username);
  if ((await deps.secrets.putPending(secretName, versionId, value)) === 'taken') throw keyExpired();
  return send(password);
};

/**
 * The cluster's binding (its one secret, its account), checked against the secret found: a secret
 * deleted since it was bound, or created again under its name, is not the cluster's.
 */
const checkBinding = async <C>(rotation: Rotation<C>, secret: SecretState | undefined) => {
  const { deps, target, secretName, request } = rotation;
  const binding = await deps.records.bindings.read(target);
  if (!binding) {
    // Only a cluster's default name is bound by a rotation; any other, by an operator.
    const defaultName = defaultSecretName(deps.config.secretPrefix, target);
    if (secretName !== defaultName) throw notTheClusterSecret(defaultName);
    return undefined;
  }
  const mismatch = bindingMismatch(binding, {
    secretName,
    account: request.envelope.account,
    ...(target.projectId === undefined ? {} : { projectId: target.projectId }),
  });
  if (mismatch) throw mismatch;
  // The bound secret is gone (deleted) or another (created again under its name): nothing is
  // created or sent until an operator unbinds the cluster, whose next rotation binds it afresh.
  const gone = boundSecretGone(binding, secret);
  if (gone) throw gone;
  return binding;
};

/**
 * The first rotation that stores a cluster's password binds it, once, to the secret (its ARN, which
 * a secret created again under the name does not have) and the account: later requests and Secrets
 * Manager's rotations take them from the binding, never from the secret's tags.
 */
const bindCluster = async <C>(rotation: Rotation<C>, secret: SecretState): Promise<void> => {
  const { deps, target, secretName, request } = rotation;
  const wanted = {
    secretName,
    secretArn: secret.arn,
    account: request.envelope.account,
    ...(target.projectId === undefined ? {} : { projectId: target.projectId }),
  };
  const binding = await deps.records.bindings.bind(target, wanted);
  const mismatch = bindingMismatch(binding, wanted);
  if (mismatch) throw mismatch;
};

const createSecret = async <C>(rotation: Rotation<C>): Promise<SecretState> => {
  const { deps, secretName, target, request } = rotation;
  const placeholder = versionIdFor(secretName, '(placeholder)');
  const secret = await deps.secrets.create(secretName, target, placeholder, request.envelope.account);
  // Created meanwhile by someone else: it must still be this cluster's.
  const mismatch = identityMismatch(secret, target);
  if (mismatch) throw validationFailed([{ field: 'secretId', rule: mismatch }]);
  return secret;
};

const sendOwn = async <C>(
  rotation: Rotation<C>,
  report: PasswordReport,
  pending: Parameters<typeof sendPending>[1],
): Promise<SuccessResult> => {
  const settled = await sendPending(rotation, pending);
  const clusterState = await rotation.client.awaitSettled(rotation.request.deadline);
  return rotation.answer(report, definedOnly({ providerRequestId: settled.providerRequestId, clusterState }));
};

/**
 * A supplied password the caller asked us not to store: the same protocol, without a secret
 * version. Its records (under the version id the key would have) remember the send all the same.
 */
const resetUnstored = async <C>(rotation: Rotation<C>): Promise<SuccessResult> => {
  const { deps, request, client, secretName, versionId } = rotation;
  await client.assertReady();
  // The secret is not written, but another attempt's pending version in it may be sent: it must
  // be the bound one, as for a stored rotation.
  const found = await ownSecret(rotation);
  await checkBinding(rotation, found);
  await rollForward(rotation, found);
  const record = await deps.records.versions.read(secretName, versionId, { pending: false });
  const report: PasswordReport = { source: 'supplied', stored: false };
  if (record?.state === 'discarded' && !record.error?.retryable)
    throw replayedFailure(record.error ?? REFUSED_EARLIER);
  if (record?.state === 'applied') return rotation.answer(report);
  const password = request.envelope.password as string;
  return sendOwn(rotation, report, { versionId, password, record, whose: 'own' });
};
