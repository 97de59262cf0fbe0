import { errorReport, isResetError, type ResetError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { Rotation } from './context.ts';
import { AWSCURRENT, type SecretState, versionWithStage } from './secret-store.ts';
import type { VersionRecord, VersionState } from './version-record.ts';

// The rotation protocol as one state machine. Every way of rotating (HTTP, EventBridge, Step
// Functions, the four native steps) sends a pending password through `sendPending`, and what
// follows a send is read from TRANSITIONS, never decided again elsewhere. docs/rotation-protocol.md
// draws it.

/** What the provider's answer to one send proves. */
export type SendOutcome =
  /** Its success answer. */
  | 'applied'
  /** A definitive refusal that will not pass (policy, auth, not found, precondition, rejected). */
  | 'refused'
  /** A definitive refusal that may pass (busy, throttled): nothing was applied. */
  | 'refused-for-now'
  /** A timeout, a dropped connection, a 5xx, an unexpected answer: it may be applied, even later. */
  | 'unknown';

/** A version's first send (since it was stored, or last refused), or a re-send after an unknown one. */
export type SendKind = 'first' | 'resend';

/** Whose pending version: this rotation's own, or one another attempt left pending. */
export type Whose = 'own' | 'other';

export interface Transition {
  /** The version record afterwards ('unchanged': it stays "sent"). */
  record: Exclude<VersionState, 'sent'> | 'unchanged';
  /** The version's labels: made current, AWSPENDING removed, or left pending. */
  labels: 'make-current' | 'remove-pending' | 'keep-pending';
  /** The lease: the send was answered, so this holder's doubt clears; or it stays in doubt. */
  lease: 'clear-doubt' | 'stay-in-doubt';
  /** The idempotency key's record (own version only): answer the refusal to every retry. */
  key: 'record-refusal' | 'unchanged';
  /** The rotation goes on, or fails with the provider's answer. */
  afterwards: 'continue' | 'fail';
}

const APPLIED: Transition = {
  record: 'applied',
  labels: 'make-current',
  lease: 'clear-doubt',
  key: 'unchanged',
  afterwards: 'continue',
};
// A refusal of a re-send proves nothing: an earlier send of the same password may have been applied.
const INCONCLUSIVE: Transition = {
  record: 'unchanged',
  labels: 'keep-pending',
  lease: 'clear-doubt',
  key: 'unchanged',
  afterwards: 'fail',
};
const UNKNOWN: Transition = {
  record: 'unchanged',
  labels: 'keep-pending',
  lease: 'stay-in-doubt',
  key: 'unchanged',
  afterwards: 'fail',
};
// Another attempt's password, never applied: given up, so that it never blocks nor is sent again.
const OTHER_REFUSED: Transition = {
  record: 'discarded',
  labels: 'remove-pending',
  lease: 'clear-doubt',
  key: 'unchanged',
  afterwards: 'continue',
};

export const TRANSITIONS: Readonly<Record<`${Whose} ${SendOutcome} ${SendKind}`, Transition>> = {
  'own applied first': APPLIED,
  'own applied resend': APPLIED,
  'own refused first': {
    record: 'discarded',
    labels: 'remove-pending',
    lease: 'clear-doubt',
    key: 'record-refusal',
    afterwards: 'fail',
  },
  // Still pending and never applied: the same key's retry sends it again, as a first send.
  'own refused-for-now first': {
    record: 'refused',
    labels: 'keep-pending',
    lease: 'clear-doubt',
    key: 'unchanged',
    afterwards: 'fail',
  },
  'own refused resend': INCONCLUSIVE,
  'own refused-for-now resend': INCONCLUSIVE,
  'own unknown first': UNKNOWN,
  'own unknown resend': UNKNOWN,
  'other applied first': APPLIED,
  'other applied resend': APPLIED,
  'other refused first': OTHER_REFUSED,
  'other refused-for-now first': OTHER_REFUSED,
  'other refused resend': INCONCLUSIVE,
  'other refused-for-now resend': INCONCLUSIVE,
  'other unknown first': UNKNOWN,
  'other unknown resend': UNKNOWN,
};

const REFUSALS: ReadonlySet<string> = new Set([
  'PROVIDER_REJECTED',
  'PASSWORD_POLICY_VIOLATION',
  'PROVIDER_AUTH_FAILED',
  'CLUSTER_NOT_FOUND',
  'CLUSTER_STATE_CONFLICT',
  'PRECONDITION_FAILED',
  'PROVIDER_THROTTLED',
]);

/** What a failed reset proves: a refusal (for good, or for now) or nothing at all. */
export const outcomeOfFailure = (error: unknown): Exclude<SendOutcome, 'applied'> => {
  if (!isResetError(error) || !REFUSALS.has(error.code)) return 'unknown';
  return error.retryable ? 'refused-for-now' : 'refused';
};

/** A password stored as a pending version (or, unstored, only recorded) and about to be sent. */
export interface PendingVersion {
  versionId: string;
  password: string;
  record: VersionRecord | undefined;
  whose: Whose;
  /** The secret holding it; absent for an unstored reset (no version, no labels). */
  secret?: SecretState;
  /** setSecret applies, finishSecret makes it current: the native steps defer the promotion. */
  promotion?: 'now' | 'at-finish';
}

export interface Settled {
  outcome: SendOutcome;
  transition: Transition;
  providerRequestId?: string;
}

/**
 * Sends a pending version's password and settles what its outcome means, as TRANSITIONS says. A
 * transition that fails throws the provider's answer once its writes are done; any write that fails
 * first leaves the lease in doubt, which is the safe side.
 */
export const sendPending = async <C>(rotation: Rotation<C>, pending: PendingVersion): Promise<Settled> => {
  const { deps, lease, secretName } = rotation;
  const kind: SendKind = pending.record?.state === 'sent' ? 'resend' : 'first';
  // t0: from here on the send may be applied: the lease is in doubt until its answer is known.
  await deps.records.leases.markInDoubt(lease);
  // t1: a first send is recorded before it leaves, so that every later reader (after this process
  // dies, or years later) knows the provider may hold the password.
  if (kind === 'first') await deps.records.versions.mark(secretName, pending.versionId, { state: 'sent' });
  let outcome: SendOutcome;
  let error: unknown;
  let providerRequestId: string | undefined;
  try {
    ({ providerRequestId } = await rotation.client.reset(pending.password));
    outcome = 'applied';
  } catch (failure) {
    outcome = outcomeOfFailure(failure);
    error = failure;
  }
  const transition = TRANSITIONS[`${pending.whose} ${outcome} ${kind}`];
  logger[outcome === 'applied' ? 'info' : 'warn']('password sent', {
    versionId: pending.versionId,
    whose: pending.whose,
    kind,
    outcome,
    ...(isResetError(error)
      ? { code: error.code }
      : { errorName: error instanceof Error ? error.name : undefined }),
  });
  await apply(rotation, pending, transition, error);
  if (transition.afterwards === 'fail') throw error;
  return { outcome, transition, ...(providerRequestId === undefined ? {} : { providerRequestId }) };
};

const RECORD_ATTEMPTS = 3;

const persistently = async (write: () => Promise<void>): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (attempt >= RECORD_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
};

const apply = async <C>(
  rotation: Rotation<C>,
  pending: PendingVersion,
  transition: Transition,
  error: unknown,
): Promise<void> => {
  const { deps, secretName, lease, entry } = rotation;
  const { versionId, secret } = pending;
  const refusal = isResetError(error) ? errorReport(error as ResetError) : undefined;
  if (transition.record !== 'unchanged') {
    // The send's answer is known now, and only this record keeps it: a version left "sent" would
    // count every later refusal as inconclusive. So it is tried again before giving up.
    const record = { state: transition.record, ...(refusal ? { error: refusal } : {}) };
    await persistently(() => deps.records.versions.mark(secretName, versionId, record));
  }
  const settles =
    (transition.labels === 'make-current' && pending.promotion !== 'at-finish') ||
    transition.labels === 'remove-pending';
  if (secret && transition.labels === 'make-current' && pending.promotion !== 'at-finish')
    await deps.secrets.promote(secretName, versionId, versionWithStage(secret, AWSCURRENT));
  if (secret && transition.labels === 'remove-pending')
    await deps.secrets.removePending(secretName, versionId);
  if (settles) await deps.records.versions.settle(secretName, versionId);
  // t2: only a holder that found the lease clean may clear it: an earlier send may still travel.
  if (transition.lease === 'clear-doubt' && entry === 'clean') await deps.records.leases.clearDoubt(lease);
  if (transition.key === 'record-refusal' && rotation.key && refusal) {
    await deps.records.keys.finish(rotation.key.record, rotation.key.fingerprint, 'failed', refusal);
  }
};
