import type { ErrorReport } from '../errors.ts';
import { logger } from '../logger.ts';
import { hasExpired, type Item, type RecordTable, retainedFrom } from './record-table.ts';

// What became of one pending version (the password a rotation stored and sends):
//   sent       a send began: the provider may hold it (written before every first send);
//   applied    the provider accepted it;
//   refused    the provider refused its last send for a passing reason; nothing was sent since;
//   discarded  refused for good (or never applied and given up): never to be sent again.
// A record decides its password's fate, so it outlives it: it has no TTL while its version is
// pending or its outcome unknown. The TTL starts when the version is settled (made current, or
// discarded and its AWSPENDING label removed).

export type VersionState = 'sent' | 'applied' | 'refused' | 'discarded';

export interface VersionRecord {
  state: VersionState;
  /** For a refused or discarded version: the refusal (and whether the same key may try again). */
  error?: ErrorReport;
}

/** The refusal of a discarded version whose record (written by an earlier release) kept none. */
export const REFUSED_EARLIER: ErrorReport = {
  code: 'PROVIDER_REJECTED',
  message: 'The provider refused this password earlier',
  retryable: false,
};

const STATES: ReadonlySet<string> = new Set(['sent', 'applied', 'refused', 'discarded']);

export const versionRecordKey = (secretName: string, versionId: string) =>
  `version#${secretName}#${versionId}`;

export class VersionRecords {
  readonly #table: RecordTable;

  constructor(table: RecordTable) {
    this.#table = table;
  }

  /**
   * The version's record. For a version still pending, a TTL that an earlier release set is
   * removed, and the record counts even past it: its password may be on the cluster.
   */
  async read(
    secretName: string,
    versionId: string,
    options: { pending: boolean },
    now = Date.now(),
  ): Promise<VersionRecord | undefined> {
    const key = versionRecordKey(secretName, versionId);
    const item = await this.#table.get(key);
    if (!item || !STATES.has(item.state?.S ?? '')) return undefined;
    if (item.expiresAt !== undefined) {
      if (options.pending)
        await this.#table.update(key, { remove: ['expiresAt'] }, { expression: 'attribute_exists(pk)' });
      else if (hasExpired(item, now)) return undefined;
    }
    return recordOf(item);
  }

  /** Records what became of the version. No TTL: whoever reads it next may depend on it. */
  async mark(secretName: string, versionId: string, record: VersionRecord): Promise<void> {
    const item: Item = { state: { S: record.state } };
    if (record.error) item.error = { S: JSON.stringify(record.error) };
    await this.#table.put(versionRecordKey(secretName, versionId), item);
  }

  /**
   * The version is settled (current, or discarded with its label removed): its record may expire.
   * A failure only keeps the record longer, so it is logged, not thrown.
   */
  async settle(secretName: string, versionId: string, now = Date.now()): Promise<void> {
    await this.#table
      .update(
        versionRecordKey(secretName, versionId),
        { set: retainedFrom(now) },
        { expression: 'attribute_exists(pk)' },
      )
      .catch((error: unknown) => {
        logger.warn('could not start the retention of a settled version record', {
          versionId,
          errorName: error instanceof Error ? error.name : 'unknown',
        });
      });
  }
}

const recordOf = (item: Item): VersionRecord => {
  const record: VersionRecord = { state: item.state?.S as VersionState };
  if (item.error?.S) record.error = JSON.parse(item.error.S) as ErrorReport;
  return record;
};
