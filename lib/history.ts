import {
  type AttributeValue,
  type DynamoDBClient,
  PutItemCommand,
  paginateQuery,
  paginateScan,
} from '@aws-sdk/client-dynamodb';
import type { Config } from './config.ts';
import { logger } from './logger.ts';
import type { NormalizedResult } from './result.ts';

// The rotation history: one item per real attempt (the attempts that publish an outcome event),
// in a table of the stage's own, for an auditor's "who rotated what, when, and did it work" beyond
// the logs' 30 days. Written by the outcome-publishing middleware beside the outcome event; read
// by `npm run report -- --history`.
//
// Why a table rather than an EventBridge archive or a log group fed by a rule: an archive cannot be
// queried (only replayed), and the outcome events go to a bus that every stage of the account may
// share (`eventBusName`, default `default`), whose events do not say their stage; a table per
// stage, keyed by cluster, answers "every attempt on this cluster" with one Query, keeps its items
// for a set retention (TTL), has point-in-time recovery, and each role may only add items under its
// own provider's keys (no update, no delete).

/** One attempt, as the table keeps it. Never a password: the normalized result holds none. */
export interface HistoryEntry {
  provider: string;
  region: string;
  clusterId: string;
  /** When the attempt ended (the result's completedAt), ISO 8601. */
  at: string;
  outcome: 'succeeded' | 'failed';
  /** Who asked (lib/events/caller.ts): an IAM ARN, an EventBridge sender, a state machine execution, a rotation event. */
  caller: string | null;
  errorCode: string | null;
  operation: string;
  requestId: string;
  idempotencyKey: string | null;
  secretArn: string | null;
  versionId: string | null;
}

/** The table's default name for a stage (serverless.yml `historyTable`). */
export const defaultHistoryTable = (stage: string): string => `cluster-password-reset-${stage}-history`;

/** The partition of a cluster's attempts. */
export const historyKey = (provider: string, region: string, clusterId: string): string =>
  `cluster#${provider}#${region}#${clusterId}`;

const DAY_SECONDS = 86_400;

const text = (value: string | null | undefined): AttributeValue | undefined =>
  value === undefined || value === null || value === '' ? undefined : { S: value };

/** The entry of an attempt's result. */
export const entryOf = (result: NormalizedResult & { caller?: string }): HistoryEntry | undefined => {
  if (result.region === undefined || result.clusterId === undefined) return undefined;
  return {
    provider: result.provider,
    region: result.region,
    clusterId: result.clusterId,
    at: result.completedAt,
    outcome: result.ok ? 'succeeded' : 'failed',
    caller: result.caller ?? null,
    errorCode: result.ok ? null : result.error.code,
    operation: result.operation,
    requestId: result.requestId,
    idempotencyKey: result.idempotencyKey ?? null,
    secretArn: result.ok ? (result.password.secretArn ?? null) : null,
    versionId: result.ok ? (result.password.versionId ?? null) : null,
  };
};

export interface RotationHistory {
  /** Adds the attempt; a failure is logged and changes nothing (the password was reset, or not, either way). */
  record(result: NormalizedResult & { caller?: string }): Promise<void>;
}

/**
 * The stage's history, from HISTORY_TABLE and HISTORY_RETENTION_DAYS (0: kept until deleted), or
 * undefined when no table is configured.
 */
export const rotationHistory = (config: Config, client: DynamoDBClient): RotationHistory | undefined => {
  const table = config.env.HISTORY_TABLE;
  if (table === undefined || table === '') return undefined;
  const days = Number(config.env.HISTORY_RETENTION_DAYS ?? '400');
  if (!Number.isInteger(days) || days < 0)
    throw new Error('HISTORY_RETENTION_DAYS must be a whole number of days');
  return {
    record: async (result) => {
      const entry = entryOf(result);
      if (!entry) return;
      const item: Record<string, AttributeValue | undefined> = {
        pk: { S: historyKey(entry.provider, entry.region, entry.clusterId) },
        // Time first, so that a cluster's attempts come back in order; the request id keeps two
        // attempts of one millisecond apart.
        sk: { S: `${entry.at}#${entry.requestId}` },
        provider: { S: entry.provider },
        region: { S: entry.region },
        clusterId: { S: entry.clusterId },
        at: { S: entry.at },
        outcome: { S: entry.outcome },
        caller: text(entry.caller),
        errorCode: text(entry.errorCode),
        operation: { S: entry.operation },
        requestId: { S: entry.requestId },
        idempotencyKey: text(entry.idempotencyKey),
        secretArn: text(entry.secretArn),
        versionId: text(entry.versionId),
        ...(days === 0
          ? {}
          : { expiresAt: { N: String(Math.floor(Date.parse(entry.at) / 1000) + days * DAY_SECONDS) } }),
      };
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: Object.fromEntries(
              Object.entries(item).filter(([, value]) => value !== undefined),
            ) as Record<string, AttributeValue>,
            // An entry is written once: a retried write that meets its own first one changes nothing.
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (error) {
        const name = error instanceof Error ? error.name : 'unknown';
        if (name !== 'ConditionalCheckFailedException')
          logger.warn('rotation history not written', { errorName: name });
      }
    },
  };
};

const stringOf = (value: AttributeValue | undefined): string | null => value?.S ?? null;

/** The entry of a stored item. */
export const fromItem = (item: Record<string, AttributeValue>): HistoryEntry => ({
  provider: stringOf(item.provider) ?? '',
  region: stringOf(item.region) ?? '',
  clusterId: stringOf(item.clusterId) ?? '',
  at: stringOf(item.at) ?? '',
  outcome: stringOf(item.outcome) === 'succeeded' ? 'succeeded' : 'failed',
  caller: stringOf(item.caller),
  errorCode: stringOf(item.errorCode),
  operation: stringOf(item.operation) ?? '',
  requestId: stringOf(item.requestId) ?? '',
  idempotencyKey: stringOf(item.idempotencyKey),
  secretArn: stringOf(item.secretArn),
  versionId: stringOf(item.versionId),
});

const byClusterThenTime = (a: HistoryEntry, b: HistoryEntry): number =>
  a.provider.localeCompare(b.provider) ||
  a.region.localeCompare(b.region) ||
  a.clusterId.localeCompare(b.clusterId) ||
  a.at.localeCompare(b.at) ||
  a.requestId.localeCompare(b.requestId);

/** Every attempt on one cluster, oldest first (one Query, every page). */
export const clusterHistory = async (
  client: DynamoDBClient,
  table: string,
  target: { provider: string; region: string; clusterId: string },
): Promise<HistoryEntry[]> => {
  const entries: HistoryEntry[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: {
        ':pk': { S: historyKey(target.provider, target.region, target.clusterId) },
      },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) entries.push(fromItem(item));
  return entries.sort(byClusterThenTime);
};

/** Every attempt the stage's table holds, by cluster, oldest first (a Scan: a report, not a handler). */
export const stageHistory = async (client: DynamoDBClient, table: string): Promise<HistoryEntry[]> => {
  const entries: HistoryEntry[] = [];
  for await (const page of paginateScan({ client }, { TableName: table, ConsistentRead: true })) {
    for (const item of page.Items ?? []) entries.push(fromItem(item));
  }
  return entries.sort(byClusterThenTime);
};
