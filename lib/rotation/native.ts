import { definedOnly } from '../defined.ts';
import { ResetError, validationFailed } from '../errors.ts';
import { generatePassword } from '../password/policy.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import { prepare, type Rotation, type RotationDeps, type RotationRequest, withLease } from './context.ts';
import { replayedFailure } from './key-record.ts';
import { ownSecret } from './protocol.ts';
import { replayOf } from './replay.ts';
import { AWSCURRENT, AWSPENDING, passwordValue, type SecretState, versionWithStage } from './secret-store.ts';
import { sendPending } from './state-machine.ts';
import { REFUSED_EARLIER, type VersionRecord } from './version-record.ts';

// Secrets Manager's own rotation: the four steps it invokes, one invocation each, on the same
// protocol as every other way of rotating. The version is Secrets Manager's ClientRequestToken
// (it labelled it AWSPENDING, still empty, before createSecret); the lease's owner is that token,
// so a retry of the rotation with the same token re-enters it, and the lease passes from step to
// step until finishSecret lets it go.

export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

export interface NativeRotationRequest<C = unknown> extends RotationRequest<C> {
  step: RotationStep;
  /** Secrets Manager's ClientRequestToken: the version this rotation fills, sets and promotes. */
  token: string;
  /** Passed on with PutSecretValue, so that Secrets Manager can tell the write is the rotation's. */
  rotationToken?: string;
}

interface Step<C> {
  rotation: Rotation<C>;
  request: NativeRotationRequest<C>;
  secret: SecretState;
  record: VersionRecord | undefined;
  report: PasswordReport;
}

/** What a step answers, and whether the lease passes on to the next step or is let go. */
interface StepOutcome {
  result: SuccessResult;
  handOver: boolean;
}

/**
 * Runs one step of a Secrets Manager rotation. Each step is idempotent, and one that fails throws,
 * so that Secrets Manager retries the rotation with the same token:
 *   createSecret: fill the token's version with a generated password (once);
 *   setSecret:    check the cluster, send the password (state-machine.ts);
 *   testSecret:   the cluster has settled (ready) with the change;
 *   finishSecret: the token's version becomes AWSCURRENT; the lease is let go.
 * A token whose version is already AWSCURRENT, or was applied and since superseded, has nothing
 * left to do.
 */
export const runRotationStep = async <C>(
  deps: RotationDeps,
  request: NativeRotationRequest<C>,
): Promise<SuccessResult> => {
  const secretName = request.envelope.secretId;
  if (secretName === undefined) throw new ResetError('INTERNAL', 'The rotation event named no secret');
  return withLease(prepare(deps, request), { secretName, versionId: request.token }, (rotation) =>
    runStep(rotation, request),
  );
};

const runStep = async <C>(rotation: Rotation<C>, request: NativeRotationRequest<C>): Promise<StepOutcome> => {
  const { deps, secretName, versionId } = rotation;
  // Read under the lease: what the secret holds now decides what is left to do.
  const secret = await ownSecret(rotation, 'SecretId');
  if (!secret) throw validationFailed([{ field: 'SecretId', rule: 'names no secret' }]);
  const stages = secret.versions.get(versionId) ?? [];
  const pending = stages.includes(AWSPENDING);
  const record = await deps.records.versions.read(secretName, versionId, { pending });
  const report: PasswordReport = { source: 'generated', stored: true, secretArn: secret.arn, versionId };
  const nothingLeft = (): StepOutcome => ({ result: replayOf(rotation.answer(report)), handOver: false });
  if (record?.state === 'discarded' && !record.error?.retryable) {
    // Refused for good: never sent again, every retry answers the refusal (and finishes the discard
    // if the label's removal failed the first time).
    if (pending) await deps.secrets.removePending(secretName, versionId);
    await deps.records.versions.settle(secretName, versionId);
    throw replayedFailure(record.error ?? REFUSED_EARLIER);
  }
  if (stages.includes(AWSCURRENT)) {
    // A finishSecret that died between its two label moves left AWSPENDING on the current version.
    if (pending) await deps.secrets.removePending(secretName, versionId);
    return nothingLeft();
  }
  if (!pending) {
    // Finished by another rotation's roll forward, then superseded: this rotation happened.
    if (record?.state === 'applied') return nothingLeft();
    throw validationFailed([
      {
        field: 'ClientRequestToken',
        rule: 'names no version of the secret that is pending rotation (AWSPENDING); start a new rotation',
      },
    ]);
  }
  const step: Step<C> = { rotation, request, secret, record, report };
  switch (request.step) {
    case 'createSecret':
      return createSecret(step);
    case 'setSecret':
      return setSecret(step);
    case 'testSecret':
      return testSecret(step);
    case 'finishSecret':
      return finishSecret(step);
  }
};

const createSecret = async ({ rotation, request, report }: Step<unknown>): Promise<StepOutcome> => {
  const { deps, secretName, versionId, client, target } = rotation;
  const stored = await deps.secrets.read(secretName, versionId);
  if (stored?.password) return { result: replayOf(rotation.answer(report)), handOver: false };
  if (stored !== undefined)
    throw new ResetError(
      'SECRET_STORE_FAILED',
      'The pending secret version holds a value without a password',
    );
  // The cluster is checked before a password is written for it: an unknown cluster leaves nothing.
  const facts = await client.assertReady();
  const value = passwordValue(target, generatePassword(request.provider.passwordPolicy), facts.username);
  if ((await deps.secrets.putPending(secretName, versionId, value, request.rotationToken)) === 'taken')
    throw new ResetError('SECRET_STORE_FAILED', 'The pending secret version was filled meanwhile; retry');
  return { result: rotation.answer(report), handOver: false };
};

const setSecret = async ({ rotation, secret, record, report }: Step<unknown>): Promise<StepOutcome> => {
  const { deps, secretName, versionId, client } = rotation;
  if (record?.state === 'applied') return { result: rotation.answer(report), handOver: true };
  const password = await deps.secrets.readPassword(secretName, versionId);
  // A re-send: the cluster may still be applying this very password from the earlier send.
  if (record?.state === 'sent') await client.awaitSettled(rotation.request.deadline);
  await client.assertReady();
  const settled = await sendPending(rotation, {
    versionId,
    password,
    record,
    whose: 'own',
    secret,
    promotion: 'at-finish',
  });
  return {
    result: rotation.answer(report, definedOnly({ providerRequestId: settled.providerRequestId })),
    handOver: true,
  };
};

const assertApplied = (record: VersionRecord | undefined): void => {
  if (record?.state !== 'applied') {
    throw validationFailed([
      { field: 'Step', rule: 'comes before setSecret has applied the pending version at the provider' },
    ]);
  }
};

const testSecret = async ({ rotation, record, report }: Step<unknown>): Promise<StepOutcome> => {
  assertApplied(record);
  // What the providers let us check from AWS: the cluster took the change and is ready again. The
  // password itself can only be tried against the cluster's own endpoint (docs/native-rotation.md).
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
  return { result: rotation.answer(report, { clusterState }), handOver: true };
};

const finishSecret = async ({ rotation, secret, record, report }: Step<unknown>): Promise<StepOutcome> => {
  assertApplied(record);
  const { deps, secretName, versionId } = rotation;
  await deps.secrets.promote(secretName, versionId, versionWithStage(secret, AWSCURRENT));
  await deps.records.versions.settle(secretName, versionId);
  return { result: rotation.answer(report), handOver: false };
};
