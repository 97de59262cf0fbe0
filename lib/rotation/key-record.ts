import { definedOnly } from '../defined.ts';
import { type ErrorReport, ResetError, validationFailed } from '../errors.ts';
import { logger } from '../logger.ts';
import { hasExpired, type Item, type RecordTable, retainedFrom } from './record-table.ts';

// An idempotency key's record: the request it is bound to (a fingerprint, fingerprint.ts) and, once
// its rotation has ended, the answer every replay gets. A started key has no TTL: while its version
// may still be pending, a reuse of the key for another request must stay refused (its retention
// starts when its answer is recorded).

export interface KeyBinding {
  fingerprint: string;
  state: 'started' | 'completed' | 'failed';
  /** The normalized result (completed) or the error report (failed). */
  outcome?: unknown;
}

const STATES: ReadonlySet<string> = new Set(['started', 'completed', 'failed']);

const bindingOf = (item: Item | undefined, now: number): KeyBinding | undefined => {
  const fingerprint = item?.fingerprint?.S;
  const state = item?.state?.S;
  if (!item || hasExpired(item, now) || fingerprint === undefined || !state || !STATES.has(state))
    return undefined;
  const binding: KeyBinding = { fingerprint, state: state as KeyBinding['state'] };
  if (item.outcome?.S) binding.outcome = JSON.parse(item.outcome.S);
  return binding;
};

const sameRequest = (binding: KeyBinding, fingerprint: string): KeyBinding => {
  if (binding.fingerprint !== fingerprint) {
    throw validationFailed([
      {
        field: 'idempotencyKey',
        rule: 'was already used for a different request (another target, account, secret, storePassword or password); use a new key',
      },
    ]);
  }
  return binding;
};

export const keyRecordKey = (providerId: string, idempotencyKey: string) =>
  `key#${providerId}#${idempotencyKey}`;

export class KeyRecords {
  readonly #table: RecordTable;

  constructor(table: RecordTable) {
    this.#table = table;
  }

  /**
   * Binds the key to a request before anything is sent, or answers the binding it already has.
   * A different request under the same key is VALIDATION_FAILED, before and after completion.
   */
  async bind(key: string, fingerprint: string, now = Date.now()): Promise<KeyBinding> {
    const existing = await this.check(key, fingerprint, now);
    if (existing) return existing;
    // A key with no record, or one whose retention has passed (TTL deletion lags).
    const bound = await this.#table.put(
      key,
      { fingerprint: { S: fingerprint }, state: { S: 'started' } },
      {
        expression: 'attribute_not_exists(pk) OR expiresAt < :now',
        values: { ':now': { N: String(Math.floor(now / 1000)) } },
      },
    );
    if (bound) return { fingerprint, state: 'started' };
    // Bound meanwhile, by a concurrent request or by our own write that the SDK retried: the
    // record as it is now decides.
    const raced = bindingOf(await this.#table.get(key), now);
    if (!raced) throw new ResetError('SECRET_STORE_FAILED', 'The idempotency key could not be bound; retry');
    return sameRequest(raced, fingerprint);
  }

  /** The key's binding if it has one (refused if it is bound to another request); writes nothing. */
  async check(key: string, fingerprint: string, now = Date.now()): Promise<KeyBinding | undefined> {
    const existing = bindingOf(await this.#table.get(key), now);
    return existing && sameRequest(existing, fingerprint);
  }

  /**
   * Records the answer every replay of the key gets. Written once the answer is known: a failure
   * changes nobody's answer (a replay then runs the rotation again, which finds it done), so it is
   * logged, never thrown.
   */
  async finish(
    key: string,
    fingerprint: string,
    state: 'completed' | 'failed',
    outcome: unknown,
    now = Date.now(),
  ): Promise<void> {
    await this.#table
      .put(key, {
        fingerprint: { S: fingerprint },
        state: { S: state },
        outcome: { S: JSON.stringify(outcome) },
        ...retainedFrom(now),
      })
      .catch((error: unknown) => {
        logger.warn('could not record the answer of an idempotency key', {
          state,
          errorName: error instanceof Error ? error.name : 'unknown',
        });
      });
  }
}

/** A failure answered again from a record: the same code and message, marked as a replay. */
export const replayedFailure = (report: ErrorReport): ResetError => {
  const { providerStatus, providerCode, fields } = report;
  return new ResetError(report.code, report.message, {
    ...definedOnly({ providerStatus, providerCode, fields }),
    replayed: true,
  });
};
