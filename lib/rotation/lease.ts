import { ResetError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { Target } from '../providers/types.ts';
import type { Item, RecordTable } from './record-table.ts';

// One lease per cluster: who may rotate it now. Its owner is a rotation (its version id), its holder
// one invocation of that rotation, alive until the holder's deadline.
//
// "In doubt" is the one fact that decides whether the lease may be let go early: a send whose
// outcome is not known may still be applied at the provider, even later, so while it is in doubt
// nothing else may be sent to the cluster and the lease runs until it expires. It is stored on the
// lease (`inDoubt`), set before every send, and cleared only by a holder that entered a clean lease
// and whose own send was answered (applied or refused). Taking or re-entering the lease never
// clears it, and no decision is taken from the answer of a write: the SDK may retry a write that was
// applied, and the retry then meets its own first write. The holder reads the lease back instead.

/** How a holder found the lease it entered. */
export type LeaseEntry = 'clean' | 'in-doubt';

export interface LeaseHolding {
  /** The lease record's key (one per cluster). */
  key: string;
  /** The rotation: its version id. */
  owner: string;
  /** This invocation. */
  holder: string;
  /** Epoch ms at which this invocation is surely gone (Lambda's deadline). */
  holderDeadline: number;
}

/** One lease per cluster, whichever secret or way of rotating. */
export const leaseKeyOf = (target: Target): string =>
  `lease#${target.provider}#${target.region}#${target.clusterId}`;

// The conditions, in named parts. `:now` is the caller's clock in epoch ms.
const ABSENT = 'attribute_not_exists(pk)';
const EXPIRED = 'leaseUntil < :now';
// The releases before `leaseUntil` ended a lease at `expiresAt` (epoch seconds): such a lease is
// free once that has passed, before the table's TTL gets round to deleting it (hours, even days).
const EARLIER_RELEASE_EXPIRED = '(attribute_not_exists(leaseUntil) AND expiresAt < :nowSeconds)';
const SAME_ROTATION = '#owner = :owner';
const THIS_HOLDER = 'holder = :holder';
const HOLDER_GONE = 'holderDeadline < :now';
const NOT_IN_DOUBT = 'inDoubt = :false';

const held = (lease: LeaseHolding) => ({
  names: { '#owner': 'owner' },
  values: { ':owner': { S: lease.owner }, ':holder': { S: lease.holder } },
});

const inProgress = () =>
  new ResetError(
    'ROTATION_IN_PROGRESS',
    'Another rotation of this cluster is in progress; retry when it has finished',
  );

/**
 * Whether a lease item is in doubt. An item without `inDoubt` was written by an earlier release,
 * which recorded only a clean hand-over (`holderDeadline` 0 and `mustExpire` false); anything else
 * it left may have a send in flight.
 */
const isInDoubt = (item: Item): boolean => {
  if (item.inDoubt?.BOOL !== undefined) return item.inDoubt.BOOL;
  return !(item.holderDeadline?.N === '0' && item.mustExpire?.BOOL === false);
};

export class Leases {
  readonly #table: RecordTable;
  readonly #leaseMs: number;

  constructor(table: RecordTable, leaseSeconds: number) {
    this.#table = table;
    this.#leaseMs = Math.round(leaseSeconds * 1000);
  }

  /**
   * Takes the cluster's lease, or re-enters the one its rotation left behind once the invocation
   * that held it has ended (handed over, killed or timed out). Anyone else gets
   * ROTATION_IN_PROGRESS until the lease expires. Answers how the lease was found, read back.
   */
  async acquire(lease: LeaseHolding, now = Date.now()): Promise<LeaseEntry> {
    const term = {
      holder: { S: lease.holder },
      holderDeadline: { N: String(lease.holderDeadline) },
      // Compared in milliseconds; expiresAt (whole seconds) only lets the table's TTL clean up.
      leaseUntil: { N: String(now + this.#leaseMs) },
      expiresAt: { N: String(Math.ceil((now + this.#leaseMs) / 1000)) },
    };
    // t0: no lease, or an expired one (expiry settles whatever was in doubt): a new lease, clean.
    // If this write is applied and its answer lost, the SDK's retry fails this condition and the
    // re-entry below matches our own holder: the same lease, read back as clean.
    const taken = await this.#table.update(
      lease.key,
      { set: { ...term, owner: { S: lease.owner }, inDoubt: { BOOL: false } } },
      {
        expression: `${ABSENT} OR ${EXPIRED} OR ${EARLIER_RELEASE_EXPIRED}`,
        values: { ':now': { N: String(now) }, ':nowSeconds': { N: String(Math.floor(now / 1000)) } },
      },
    );
    if (!taken) await this.#migrate(lease.key);
    // t1: our rotation's lease, held by us (a retried write) or by an invocation that has ended:
    // re-entered as it is, doubt included.
    const reentered =
      taken ||
      (await this.#table.update(
        lease.key,
        { set: term },
        {
          expression: `${SAME_ROTATION} AND (${THIS_HOLDER} OR ${HOLDER_GONE})`,
          ...held(lease),
          values: { ...held(lease).values, ':now': { N: String(now) } },
        },
      ));
    if (!reentered) throw inProgress();
    // t2: the decision comes from the lease as it is now, not from which write answered.
    const item = await this.#table.get(lease.key);
    if (item?.holder?.S !== lease.holder) throw inProgress();
    return isInDoubt(item) ? 'in-doubt' : 'clean';
  }

  /**
   * A lease an earlier release wrote has no `inDoubt`: it is stated before the lease is re-entered,
   * from what that release recorded, while the item is still as that release left it.
   */
  async #migrate(key: string): Promise<void> {
    const item = await this.#table.get(key);
    if (!item || item.inDoubt !== undefined || item.holderDeadline?.N === undefined) return;
    await this.#table.update(
      key,
      { set: { inDoubt: { BOOL: isInDoubt(item) } } },
      {
        expression: 'attribute_not_exists(inDoubt) AND holderDeadline = :seen',
        values: { ':seen': { N: item.holderDeadline.N } },
      },
    );
  }

  /**
   * Before a send: from now on the send may be applied, so the lease is in doubt. Refused when this
   * invocation no longer holds the lease (it expired and was taken): then nothing may be sent.
   */
  async markInDoubt(lease: LeaseHolding, now = Date.now()): Promise<void> {
    // The send may be applied until the lease ends: it runs a whole lease from the send.
    const marked = await this.#table.update(
      lease.key,
      {
        set: {
          inDoubt: { BOOL: true },
          leaseUntil: { N: String(now + this.#leaseMs) },
          expiresAt: { N: String(Math.ceil((now + this.#leaseMs) / 1000)) },
        },
      },
      { expression: `${SAME_ROTATION} AND ${THIS_HOLDER}`, ...held(lease) },
    );
    if (!marked) throw inProgress();
  }

  /**
   * After a send was answered, by a holder that entered a clean lease: nothing is in flight. A
   * failure leaves the lease in doubt until it expires, the safe side, so it is logged, not thrown.
   */
  async clearDoubt(lease: LeaseHolding): Promise<void> {
    await this.#table
      .update(
        lease.key,
        { set: { inDoubt: { BOOL: false } } },
        { expression: `${SAME_ROTATION} AND ${THIS_HOLDER}`, ...held(lease) },
      )
      .catch((error: unknown) => {
        logger.warn('could not clear the lease of a settled send; it stays until it expires', {
          errorName: error instanceof Error ? error.name : 'unknown',
        });
      });
  }

  /**
   * Ends this invocation's hold: the lease is deleted if nothing is in doubt, else handed over
   * (it runs until it expires, and only its rotation may re-enter it). A lease taken over by
   * another invocation is left alone.
   */
  async leave(lease: LeaseHolding): Promise<void> {
    // The condition, not the holder's memory, keeps a lease in doubt: a retried delete that meets
    // its own first one finds nothing, and the hand-over below then finds nothing either.
    const released = await this.#table.delete(lease.key, {
      expression: `${SAME_ROTATION} AND ${THIS_HOLDER} AND ${NOT_IN_DOUBT}`,
      ...held(lease),
      values: { ...held(lease).values, ':false': { BOOL: false } },
    });
    if (!released) await this.handOver(lease);
  }

  /**
   * Keeps the lease for this rotation, but lets its next invocation re-enter at once: between the
   * steps of a native rotation, and after a send in doubt (a killed invocation cannot hand over;
   * its rotation then waits for its deadline instead).
   */
  async handOver(lease: LeaseHolding): Promise<void> {
    await this.#table.update(
      lease.key,
      { set: { holderDeadline: { N: '0' } } },
      { expression: `${SAME_ROTATION} AND ${THIS_HOLDER}`, ...held(lease) },
    );
  }
}
