import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ResetError } from '../errors.ts';

// The one DynamoDB table the rotation remembers things in, one item per record, keyed `pk`:
//   lease#…    the cluster's lease (lease.ts)
//   key#…      an idempotency key's binding and answer (key-record.ts)
//   version#…  what became of a pending version (version-record.ts)
// This file only speaks DynamoDB: conditional writes answer whether their condition held, every
// other failure is SECRET_STORE_FAILED. The record modules decide what a record means.

export type Item = Record<string, AttributeValue>;

/** A condition expression with the names and values it uses (its values start with `:`). */
export interface Condition {
  expression: string;
  names?: Record<string, string>;
  values?: Item;
}

/** How long a settled record is kept: a replay within it is answered from the record. */
export const RECORD_RETENTION_SECONDS = 7 * 24 * 3600;

export const epochSeconds = (now: number): number => Math.floor(now / 1000);

/** The TTL attribute of a record that may now expire, `RECORD_RETENTION_SECONDS` from `now`. */
export const retainedFrom = (now: number): Item => ({
  expiresAt: { N: String(epochSeconds(now) + RECORD_RETENTION_SECONDS) },
});

/** True when the item's TTL (whole seconds) has passed: DynamoDB deletes expired items late. */
export const hasExpired = (item: Item, now: number): boolean =>
  item.expiresAt?.N !== undefined && Number(item.expiresAt.N) < epochSeconds(now);

const storeFailed = (operation: string, error: unknown): ResetError =>
  new ResetError(
    'SECRET_STORE_FAILED',
    `DynamoDB ${operation} on the lease table failed (${error instanceof Error ? error.name : 'unknown error'})`,
    { cause: error },
  );

const conditionInput = (condition: Condition | undefined, names: Record<string, string>, values: Item) => {
  const allNames = { ...names, ...condition?.names };
  const allValues = { ...values, ...condition?.values };
  return {
    ...(condition ? { ConditionExpression: condition.expression } : {}),
    ...(Object.keys(allNames).length > 0 ? { ExpressionAttributeNames: allNames } : {}),
    ...(Object.keys(allValues).length > 0 ? { ExpressionAttributeValues: allValues } : {}),
  };
};

export class RecordTable {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(client: DynamoDBClient, tableName: string) {
    this.#client = client;
    this.#tableName = tableName;
  }

  /** The item as it is now (a consistent read), expired or not. */
  async get(pk: string): Promise<Item | undefined> {
    try {
      const answer = await this.#client.send(
        new GetItemCommand({ TableName: this.#tableName, Key: { pk: { S: pk } }, ConsistentRead: true }),
      );
      return answer.Item;
    } catch (error) {
      throw storeFailed('GetItem', error);
    }
  }

  /** Writes the whole item; false when the condition did not hold. */
  async put(pk: string, item: Item, condition?: Condition): Promise<boolean> {
    return this.#conditional('PutItem', async () => {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: { pk: { S: pk }, ...item },
          ...conditionInput(condition, {}, {}),
        }),
      );
    });
  }

  /** Sets (and removes) attributes of the item; false when the condition did not hold. */
  async update(
    pk: string,
    change: { set?: Item; remove?: string[] },
    condition?: Condition,
  ): Promise<boolean> {
    const set = Object.entries(change.set ?? {});
    const names: Record<string, string> = {};
    const values: Item = {};
    for (const [name, value] of set) {
      names[`#set_${name}`] = name;
      values[`:set_${name}`] = value;
    }
    for (const name of change.remove ?? []) names[`#remove_${name}`] = name;
    const clauses = [
      set.length > 0 ? `SET ${set.map(([name]) => `#set_${name} = :set_${name}`).join(', ')}` : '',
      change.remove?.length ? `REMOVE ${change.remove.map((name) => `#remove_${name}`).join(', ')}` : '',
    ];
    return this.#conditional('UpdateItem', async () => {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: { pk: { S: pk } },
          UpdateExpression: clauses.filter(Boolean).join(' '),
          ...conditionInput(condition, names, values),
        }),
      );
    });
  }

  /** Deletes the item; false when the condition did not hold. */
  async delete(pk: string, condition?: Condition): Promise<boolean> {
    return this.#conditional('DeleteItem', async () => {
      await this.#client.send(
        new DeleteItemCommand({
          TableName: this.#tableName,
          Key: { pk: { S: pk } },
          ...conditionInput(condition, {}, {}),
        }),
      );
    });
  }

  async #conditional(operation: string, write: () => Promise<void>): Promise<boolean> {
    try {
      await write();
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw storeFailed(operation, error);
    }
  }
}
