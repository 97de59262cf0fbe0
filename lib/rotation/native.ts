import { definedOnly } from '../defined.ts';
import { errorReport, ResetError, validationFailed } from '../errors.ts';
import { generatePassword } from '../password/policy.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import { replayedFailure, type VersionRecord } from './lease-table.ts';
import {
  answerFor,
  assertOwnSecret,
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
  sendVersion,
  targetOf,
  unknownDiscard,
  usernameOf,
  versionRecordKey,
} from './protocol.ts';
import { AWSCURRENT, AWSPENDING, type SecretState, versionWithStage } from './secret-store.ts';

// Secrets Manager's own rotation: the four steps it invokes, one invocation each, on the same
// protocol as every other way of rotating. The version is Secrets Manager's ClientRequestToken
// (it labelled it AWSPENDING, still empty, before createSecret); the lease's owner is that token,
// so a retry of the rotation with the same token re-enters it, and the lease passes from step to
// step until finishSecret releases it.

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface NativeRotationRequest<C = unknown> extends RotationRequest<C> {
  step: RotationStep;
  /** Secrets Manager's ClientRequestToken: the version this rotation fills, sets and promotes. */
  token: string;
  /** Passed on with PutSecretValue, so that Secrets Manager can tell the write is the rotation's. */
  rotationToken?: string;
}

interface StepContext<C> {
  rotation: Rotation<C>;
  request: NativeRotationRequest<C>;
  secret: SecretState;
  record: VersionRecord | undefined;
  report: PasswordReport;
}

/** What a step answers, and whether the lease passes on to the next step or is let go. */
interface StepOutcome {
  result: SuccessResult;
  lease: 'hand-over' | 'release';
}

/**
 * Runs one step of a Secrets Manager rotation. Each step is idempotent, and one that fails throws,
 * so that Secrets Manager retries the rotation with the same token:
 *   createSecret: fill the token's version with a generated password (once);
 *   setSecret:    check the cluster, send the password (the zero-loss rules of every send hold);
 *   testSecret:   the cluster has settled (ready) with the change;
 *   finishSecret: the token's version becomes AWSCURRENT; the lease is let go.
 * A token whose version is already AWSCURRENT, or was applied and since superseded, has nothing
 * left to do.
 */
export const runRotationStep = async <C>(
  deps: RotationDeps,
  request: NativeRotationRequest<C>,
): Promise<SuccessResult> => {
  const target = targetOf(request);
  const secretName = request.envelope.secretId;
  if (secretName === undefined) throw new ResetError('INTERNAL', 'The rotation event named no secret');
  const rotation: Rotation<C> = {
    deps,
    request,
    target,
    client: request.provider.createClient({
      credentials: request.credentials,
      target,
      config: deps.config,
      deadline: request.deadline,
    }),
    secretName,
    versionId: request.token,
    leaseKey: leaseKeyOf(target),
    lease: leaseFor(request, request.token),
    keepLease: false,
    answer: answerFor(request, target),
  };
  const entry = await deps.leases.acquire(rotation.leaseKey, rotation.lease);
  // Re-entered: an earlier invocation of this rotation ended without handing over cleanly (killed,
  // or after an unknown outcome): the lease now runs until it expires.
  rotation.keepLease = entry === 'reentered';
  let outcome: StepOutcome;
  try {
    outcome = await runStep(rotation, request);
  } catch (error) {
    await releaseUnlessKept(rotation);
    throw error;
  }
  if (outcome.lease === 'release') await releaseUnlessKept(rotation);
  else
    await deps.leases
      .handOver(rotation.leaseKey, rotation.lease, { mustExpire: rotation.keepLease })
      .catch(logAfterCompletion('hand the lease to the next step'));
  return outcome.result;
};

const runStep = async <C>(rotation: Rotation<C>, request: NativeRotationRequest<C>): Promise<StepOutcome> => {
  const { deps, secretName, target, versionId } = rotation;
  // Read under the lease: what the secret holds now decides what is left to do.
  const secret = await deps.secrets.describe(secretName);
  if (!secret) throw validationFailed([{ field: 'SecretId', rule: 'names no secret' }]);
  assertOwnSecret(secret, target);
  const stages = secret.versions.get(versionId) ?? [];
  const record = await deps.leases.versionRecord(versionRecordKey(secretName, versionId));
  const report: PasswordReport = { source: 'generated', stored: true, secretArn: secret.arn, versionId };
  const nothingLeft = (): StepOutcome => ({ result: replayOf(rotation.answer(report)), lease: 'release' });
  if (record?.state === 'discarded' && !record.error?.retryable) {
    // Refused for good: never sent again, every retry answers the refusal (and finishes the discard
    // if the label's removal failed the first time).
    if (stages.includes(AWSPENDING)) await deps.secrets.removePending(secretName, versionId);
    throw replayedFailure(record.error ?? unknownDiscard);
  }
  if (stages.includes(AWSCURRENT)) {
    // A finishSecret that died between its two label moves left AWSPENDING on the current version.
    if (stages.includes(AWSPENDING)) await deps.secrets.removePending(secretName, versionId);
    return nothingLeft();
  }
  if (!stages.includes(AWSPENDING)) {
    // Finished by another rotation's roll forward, then superseded: this rotation happened.
    if (record?.state === 'applied') return nothingLeft();
    throw validationFailed([
      {
        field: 'ClientRequestToken',
        rule: 'names no version of the secret that is pending rotation (AWSPENDING); start a new rotation',
      },
    ]);
  }
  const context: StepContext<C> = { rotation, request, secret, record, report };
  switch (request.step) {
    case 'createSecret':
      return createSecret(context);
    case 'setSecret':
      return setSecret(context);
    case 'testSecret':
      return testSecret(context);
    case 'finishSecret':
      return finishSecret(context);
  }
};

const createSecret = async <C>({ rotation, request, report }: StepContext<C>): Promise<StepOutcome> => {
  const { deps, secretName, versionId, client, target } = rotation;
  const stored = await deps.secrets.read(secretName, versionId);
  if (stored?.password) return { result: replayOf(rotation.answer(report)), lease: 'release' };
  if (stored !== undefined)
    throw new ResetError(
      'SECRET_STORE_FAILED',
      'The pending secret version holds a value without a password',
    );
  // The cluster is checked before a password is written for it: an unknown cluster leaves nothing.
  const facts = await client.assertReady();
  await deps.secrets.putPending(
    secretName,
    versionId,
    {
      password: generatePassword(request.provider.passwordPolicy),
      ...usernameOf(facts),
      provider: target.provider,
      region: target.region,
      clusterId: target.clusterId,
      rotatedAt: new Date().toISOString(),
    },
    request.rotationToken,
  );
  return { result: rotation.answer(report), lease: 'release' };
};

const setSecret = async <C>({ rotation, record, report }: StepContext<C>): Promise<StepOutcome> => {
  const { deps, secretName, versionId, client } = rotation;
  if (record?.state === 'applied') return { result: rotation.answer(report), lease: 'hand-over' };
  const password = await readPassword(rotation, versionId);
  // A re-send: the cluster may still be applying this very password from the earlier send.
  if (record?.state === 'sent') await client.awaitSettled(rotation.request.deadline);
  await client.assertReady();
  const sent = await sendVersion(rotation, versionId, password, record);
  if (sent.outcome === 'unknown' || sent.outcome === 'inconclusive') throw sent.error;
  if (sent.outcome === 'not-applied') {
    if (sent.error.retryable) {
      // Not applied, and still pending: Secrets Manager's retry sends it again, as a first send.
      await deps.leases.markVersion(versionRecordKey(secretName, versionId), {
        state: 'refused',
        error: errorReport(sent.error),
      });
    } else {
      // Refused for good: never sent again; the rotation's retries answer the same refusal.
      await discard(rotation, versionId, sent.error);
    }
    throw sent.error;
  }
  await markApplied(rotation, versionId);
  return {
    result: rotation.answer(report, definedOnly({ providerRequestId: sent.providerRequestId })),
    lease: 'hand-over',
  };
};

const assertApplied = (record: VersionRecord | undefined): void => {
  if (record?.state !== 'applied') {
    throw validationFailed([
      { field: 'Step', rule: 'comes before setSecret has applied the pending version at the provider' },
    ]);
  }
};

const testSecret = async <C>({ rotation, record, report }: StepContext<C>): Promise<StepOutcome> => {
  assertApplied(record);
  // What the providers let us check from AWS: the cluster took the change and is ready again. The
  // password itself can only be tried against the cluster's own endpoint (see the README).
  const clusterState = await rotation.client.awaitSettled(rotation.request.deadline);
  if (clusterState === 'changing') {
    throw new ResetError(
      'CLUSTER_STATE_CONFLICT',
      'The cluster is still applying the new password; the rotation is retried',
    );
  }
  if (clusterState === 'error')
    throw new ResetError('PROVIDER_REJECTED', 'The cluster reports an error state after the password change');
  if (clusterState === undefined)
    throw new ResetError(
      'PROVIDER_UNAVAILABLE',
      'The cluster state could not be read after the password change',
    );
  return { result: rotation.answer(report, { clusterState }), lease: 'hand-over' };
};

const finishSecret = async <C>({
  rotation,
  secret,
  record,
  report,
}: StepContext<C>): Promise<StepOutcome> => {
  assertApplied(record);
  await rotation.deps.secrets.promote(
    rotation.secretName,
    rotation.versionId,
    versionWithStage(secret, AWSCURRENT),
  );
  return { result: rotation.answer(report), lease: 'release' };
};
