import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ResetError } from '../errors.ts';

// One DynamoDB table holds the per-cluster leases and the records of completed rotations (so a
// retry after completion answers the same result without a second reset). Items expire through
// the table's TTL attribute `expiresAt`; reads compare it too, since TTL deletion lags.

const RESULT_RETENTION_SECONDS = 7 * 24 * 3600;

const epochSeconds = (now: number): number => Math.floor(now / 1000);

const leaseStoreFailed = (operation: string, error: unknown): ResetError =>
  new ResetError(
    'SECRET_STORE_FAILED',
    `DynamoDB ${operation} on the lease table failed (${error instanceof Error ? error.name : 'unknown error'})`,
    { cause: error },
  );

export class LeaseTable {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseSeconds: number;

  constructor(client: DynamoDBClient, tableName: string, leaseSeconds: number) {
    this.#client = client;
    this.#tableName = tableName;
    this.#leaseSeconds = leaseSeconds;
  }

  /** Takes the lease, or throws ROTATION_IN_PROGRESS while another holder's lease is unexpired. */
  async acquire(key: string, owner: string, now = Date.now()): Promise<void> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            pk: { S: key },
            owner: { S: owner },
            expiresAt: { N: String(epochSeconds(now) + this.#leaseSeconds) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
          ExpressionAttributeValues: { ':now': { N: String(epochSeconds(now)) } },
        }),
      );
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

  /** Releases the lease if we still hold it; a lease taken over after expiry is left alone. */
  async release(key: string, owner: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#tableName,
          Key: { pk: { S: key } },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': { S: owner } },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw leaseStoreFailed('DeleteItem', error);
    }
  }

  async findResult<T>(key: string, now = Date.now()): Promise<T | undefined> {
    try {
      const answer = await this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
      );
      const item = answer.Item;
      if (!item?.result?.S || Number(item.expiresAt?.N ?? 0) < epochSeconds(now)) return undefined;
      return JSON.parse(item.result.S) as T;
    } catch (error) {
      throw leaseStoreFailed('GetItem', error);
    }
  }

  async recordResult(key: string, result: unknown, now = Date.now()): Promise<void> {
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            pk: { S: key },
            result: { S: JSON.stringify(result) },
            expiresAt: { N: String(epochSeconds(now) + RESULT_RETENTION_SECONDS) },
          },
        }),
      );
    } catch (error) {
      throw leaseStoreFailed('PutItem', error);
    }
  }
}
