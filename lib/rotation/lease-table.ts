import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { definedOnly } from '../defined.ts';
import { ResetError, validationFailed } from '../errors.ts';
import type { ErrorReport } from '../result.ts';

// One DynamoDB table holds what the rotation must remember across invocations and processes:
//   lease#…    one per cluster: who may rotate it now (owner = the rotation's version id);
//   key#…      one per idempotency key: the request it is bound to, and how it ended;
//   version#…  one per pending version: whether the provider applied it or it was discarded.
// Items expire through the table's TTL attribute `expiresAt`; reads compare it too, since TTL
// deletion lags.

const RECORD_RETENTION_SECONDS = 7 * 24 * 3600;

const epochSeconds = (now: number): number => Math.floor(now / 1000);

const leaseStoreFailed = (operation: string, error: unknown): ResetError =>
  new ResetError(
    'SECRET_STORE_FAILED',
    `DynamoDB ${operation} on the lease table failed (${error instanceof Error ? error.name : 'unknown error'})`,
    { cause: error },
  );

/**
 * How a lease was taken: new (or after its expiry); re-entered after an earlier invocation of the
 * same rotation ended without releasing it (killed, or kept after an unknown outcome: what it sent
 * may still be applied, so the lease must now run until it expires); or continued from an earlier
 * step of the same rotation that handed it over with nothing in doubt (native rotation's steps).
 */
export type LeaseEntry = 'acquired' | 'reentered' | 'continued';

/** What an idempotency key is bound to, and how its request ended. */
interface KeyRecord {
  fingerprint: string;
  state: 'started' | 'completed' | 'failed';
  /** The normalized result (completed) or the error report (failed). */
  outcome?: unknown;
}

/**
 * What became of a pending version: sent (the provider may have it), applied by the provider,
 * refused (a definitive refusal of every send so far; still pending), or discarded (refused and
 * no longer pending).
 */
export interface VersionRecord {
  state: 'sent' | 'applied' | 'refused' | 'discarded';
  /** For a discarded version: the refusal, and whether the same key may try again. */
  error?: ErrorReport;
}

export class LeaseTable {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;

  constructor(client: DynamoDBClient, tableName: string, leaseSeconds: number) {
    this.#client = client;
    this.#tableName = tableName;
    this.#leaseMs = Math.round(leaseSeconds * 1000);
  }

  /**
   * Takes the cluster's lease for a rotation (`owner`, its version id) run by one invocation
   * (`holder`, alive until `holderDeadline`, epoch ms). The same rotation re-enters a lease its
   * earlier invocation left behind once that invocation's deadline has passed (it was killed or
   * timed out), and the same invocation re-enters its own (the SDK's retry of a write that was
   * applied). Anyone else gets ROTATION_IN_PROGRESS until the lease expires.
   */
  async acquire(
    key: string,
    lease: { owner: string; holder: string; holderDeadline: number },
    now = Date.now(),
  ): Promise<LeaseEntry> {
    try {
      const answer = await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            pk: { S: key },
            owner: { S: lease.owner },
            holder: { S: lease.holder },
            holderDeadline: { N: String(lease.holderDeadline) },
            // Compared in milliseconds; expiresAt (whole seconds) only lets the table's TTL clean up.
            leaseUntil: { N: String(now + this.#leaseMs) },
            expiresAt: { N: String(Math.ceil((now + this.#leaseMs) / 1000)) },
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR leaseUntil < :nowMs OR (#owner = :owner AND (holder = :holder OR holderDeadline < :nowMs))',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':nowMs': { N: String(now) },
            ':owner': { S: lease.owner },
            ':holder': { S: lease.holder },
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = answer.Attributes;
      const held =
        old?.owner?.S === lease.owner &&
        old.holder?.S !== lease.holder &&
        Number(old.leaseUntil?.N ?? 0) >= now;
      if (!held) return 'acquired';
      // Only a hand-over that said so is a clean continuation; a holder that never handed over
      // (killed) or one from before this attribute existed counts as "may still be applied".
      const cleanHandOver = old.holderDeadline?.N === '0' && old.mustExpire?.BOOL === false;
      return cleanHandOver ? 'continued' : 'reentered';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ResetError(
          'ROTATION_IN_PROGRESS',
          'Another rotation of this cluster is in progress; retry when it has finished',
        );
      }
      throw leaseStoreFailed('PutItem', error);
    }
  }

  /** Releases the lease if this invocation still holds it; a lease re-entered or taken over is left alone. */
  async release(key: string, lease: { owner: string; holder: string }): Promise<void> {
    try {
      await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#tableName,
          Key: { pk: { S: key } },
          ConditionExpression: '#owner = :owner AND holder = :holder',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: lease.owner }, ':holder': { S: lease.holder } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw leaseStoreFailed('DeleteItem', error);
    }
  }

  /**
   * Keeps the lease, but lets the same rotation re-enter it at once: called when an invocation ends
   * after an unknown outcome (`mustExpire`: the lease then runs until it expires, whoever re-enters
   * it), or between the steps of a native rotation (a killed invocation cannot hand over, and its
   * retry waits for its deadline instead).
   */
  async handOver(
    key: string,
    lease: { owner: string; holder: string },
    options: { mustExpire: boolean } = { mustExpire: true },
  ): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET holderDeadline = :ended, mustExpire = :mustExpire',
          ConditionExpression: '#owner = :owner AND holder = :holder',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':ended': { N: '0' },
            ':mustExpire': { BOOL: options.mustExpire },
            ':owner': { S: lease.owner },
            ':holder': { S: lease.holder },
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw leaseStoreFailed('UpdateItem', error);
    }
  }

  /**
   * Binds an idempotency key to a request's fingerprint before anything is sent, or answers the
   * record of the request it is already bound to. A different request under the same key is
   * VALIDATION_FAILED, before and after completion.
   */
  async bindKey(key: string, fingerprint: string, now = Date.now()): Promise<KeyRecord> {
    const existing = await this.#keyRecord(key, now);
    if (existing) return sameRequest(existing, fingerprint);
    try {
      await this.#put(key, { fingerprint: { S: fingerprint }, state: { S: 'started' } }, now, true);
      return { fingerprint, state: 'started' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw leaseStoreFailed('PutItem', error);
      // Bound by a concurrent request between our read and write: compare with theirs.
      const raced = await this.#keyRecord(key, now);
      if (!raced) throw leaseStoreFailed('PutItem', error);
      return sameRequest(raced, fingerprint);
    }
  }

  async finishKey(
    key: string,
    fingerprint: string,
    state: 'completed' | 'failed',
    outcome: unknown,
    now = Date.now(),
  ): Promise<void> {
    try {
      await this.#put(
        key,
        { fingerprint: { S: fingerprint }, state: { S: state }, outcome: { S: JSON.stringify(outcome) } },
        now,
      );
    } catch (error) {
      throw leaseStoreFailed('PutItem', error);
    }
  }

  async markVersion(key: string, record: VersionRecord, now = Date.now()): Promise<void> {
    const item: Record<string, AttributeValue> = { state: { S: record.state } };
    if (record.error) item.error = { S: JSON.stringify(record.error) };
    try {
      await this.#put(key, item, now);
    } catch (error) {
      throw leaseStoreFailed('PutItem', error);
    }
  }

  async versionRecord(key: string, now = Date.now()): Promise<VersionRecord | undefined> {
    const item = await this.#get(key, now);
    const state = item?.state?.S;
    if (state !== 'sent' && state !== 'applied' && state !== 'refused' && state !== 'discarded')
      return undefined;
    return item?.error?.S ? { state, error: JSON.parse(item.error.S) as ErrorReport } : { state };
  }

  async #keyRecord(key: string, now: number): Promise<KeyRecord | undefined> {
    const item = await this.#get(key, now);
    const fingerprint = item?.fingerprint?.S;
    const state = item?.state?.S;
    if (fingerprint === undefined || (state !== 'started' && state !== 'completed' && state !== 'failed'))
      return undefined;
    return item?.outcome?.S
      ? { fingerprint, state, outcome: JSON.parse(item.outcome.S) }
      : { fingerprint, state };
  }

  async #get(key: string, now: number): Promise<Record<string, AttributeValue> | undefined> {
    try {
      const answer = await this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
      );
      const item = answer.Item;
      if (!item || Number(item.expiresAt?.N ?? 0) < epochSeconds(now)) return undefined;
      return item;
    } catch (error) {
      throw leaseStoreFailed('GetItem', error);
    }
  }

  #put(key: string, item: Record<string, AttributeValue>, now: number, onlyIfAbsent = false) {
    return this.#client.send(
      new PutItemCommand({
        TableName: this.#tableName,
        Item: {
          pk: { S: key },
          ...item,
          expiresAt: { N: String(epochSeconds(now) + RECORD_RETENTION_SECONDS) },
        },
        ...(onlyIfAbsent
          ? {
              ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
              ExpressionAttributeValues: { ':now': { N: String(epochSeconds(now)) } },
            }
          : {}),
      }),
    );
  }
}

const sameRequest = (record: KeyRecord, fingerprint: string): KeyRecord => {
  if (record.fingerprint !== fingerprint) {
    throw validationFailed([
      {
        field: 'idempotencyKey',
        rule: 'was already used for a different request (another target, account, secret, storePassword or password); use a new key',
      },
    ]);
  }
  return record;
};

/** A failure answered again from a key's record: the same code and message, marked as a replay. */
export const replayedFailure = (report: ErrorReport): ResetError => {
  const { providerStatus, providerCode, fields } = report;
  return new ResetError(report.code, report.message, {
    ...definedOnly({ providerStatus, providerCode, fields }),
    replayed: true,
  });
};
