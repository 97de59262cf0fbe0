import { ResetError, validationFailed } from '../errors.ts';
import { logger } from '../logger.ts';
import type { Rotation } from './context.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  identityMismatch,
  type SecretState,
  versionWithStage,
} from './secret-store.ts';
import { sendPending } from './state-machine.ts';

// The steps every way of rotating shares, around the state machine's one send: the secret's
// identity, and finishing or discarding a pending version another attempt left behind. One protocol:
// whichever way started a pending version, another finishes or discards it by the same rules.

/** The rotation's secret if it exists, once it is this cluster's; VALIDATION_FAILED otherwise. */
export const ownSecret = async <C>(
  rotation: Pick<Rotation<C>, 'deps' | 'secretName' | 'target'>,
  field = 'secretId',
): Promise<SecretState | undefined> => {
  const secret = await rotation.deps.secrets.describe(rotation.secretName);
  const mismatch = secret && identityMismatch(secret, rotation.target);
  if (mismatch) throw validationFailed([{ field, rule: mismatch }]);
  return secret;
};

/**
 * Another attempt's pending version may be what the provider holds now: finish it (send, make
 * current) before anything else, or discard it if it was never applied. Answers the secret as it is
 * afterwards; throws when the other version's outcome stays unknown (the cluster is in doubt).
 */
export const rollForward = async <C>(
  rotation: Rotation<C>,
  secret: SecretState | undefined,
): Promise<SecretState | undefined> => {
  const pending = secret && versionWithStage(secret, AWSPENDING);
  if (!secret || pending === undefined || pending === rotation.versionId) return secret;
  const { deps, secretName, client, request } = rotation;
  const reread = async () => (await deps.secrets.describe(secretName)) ?? secret;
  const record = await deps.records.versions.read(secretName, pending, { pending: true });
  if (record?.state === 'discarded' || record?.state === 'refused') {
    // Refused, and not sent since: never applied. A refused password is never sent by a later
    // rotation; a discard whose label removal failed is finished.
    logger.info('discarding a refused pending password', { versionId: pending });
    if (record.state === 'refused')
      await deps.records.versions.mark(secretName, pending, { ...record, state: 'discarded' });
    await deps.secrets.removePending(secretName, pending);
    await deps.records.versions.settle(secretName, pending);
    return reread();
  }
  if (record?.state === 'applied') {
    await deps.secrets.promote(secretName, pending, versionWithStage(secret, AWSCURRENT));
    await deps.records.versions.settle(secretName, pending);
  } else {
    const stored = await deps.secrets.read(secretName, pending);
    if (!stored?.password) {
      // Nothing the provider could have. An empty version is a rotation Secrets Manager has started
      // (createSecret fills it): in progress while young, abandoned once older than a lease.
      if (stored === undefined) await assertAbandoned(rotation, pending);
      await deps.secrets.removePending(secretName, pending);
      return reread();
    }
    logger.info('rolling forward a pending password left by an earlier attempt', { versionId: pending });
    const settled = await sendPending(rotation, {
      versionId: pending,
      password: stored.password,
      record,
      whose: 'other',
      secret,
    });
    if (settled.outcome !== 'applied') return reread();
  }
  // The cluster applies the change before it takes the next one.
  await client.awaitSettled(request.deadline);
  await client.assertReady();
  return reread();
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
