import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { rotationHistory } from '../../lib/history.ts';
import type { NormalizedResult } from '../../lib/result.ts';

// The rotation history's write (lib/history.ts): one conditional PutItem per attempt, under the
// cluster's key, with who asked, the outcome and the error code, never a password.

const dynamo = mockClient(DynamoDBClient);
const client = new DynamoDBClient({ region: 'eu-central-1' });
const config = (env: Record<string, string> = {}) =>
  readConfig({ STAGE: 'test', HISTORY_TABLE: 'cluster-password-reset-test-history', ...env });

const failure: NormalizedResult & { caller: string } = {
  ok: false,
  provider: 'otc-css',
  operation: 'reset-admin-password',
  region: 'eu-de',
  clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
  dryRun: false,
  requestId: 'req-1',
  idempotencyKey: 'key-1',
  completedAt: '2026-11-23T10:00:00.000Z',
  error: { code: 'CLUSTER_STATE_CONFLICT', message: 'busy', retryable: true, providerStatus: 409 },
  caller: 'arn:aws:iam::123456789012:role/ops-rotation',
};

beforeEach(() => dynamo.reset());

describe('the rotation history', () => {
  it('puts one item per attempt, written once, expiring after the retention', async () => {
    dynamo.on(PutItemCommand).resolves({});
    await rotationHistory(config(), client)?.record(failure);
    expect(dynamo.commandCalls(PutItemCommand).map((call) => call.args[0].input)).toEqual([
      {
        TableName: 'cluster-password-reset-test-history',
        Item: {
          pk: { S: 'cluster#otc-css#eu-de#4f3deec3-efa8-4598-bf91-560aad1377a3' },
          sk: { S: '2026-11-23T10:00:00.000Z#req-1' },
          provider: { S: 'otc-css' },
          region: { S: 'eu-de' },
          clusterId: { S: '4f3deec3-efa8-4598-bf91-560aad1377a3' },
          at: { S: '2026-11-23T10:00:00.000Z' },
          outcome: { S: 'failed' },
          caller: { S: 'arn:aws:iam::123456789012:role/ops-rotation' },
          errorCode: { S: 'CLUSTER_STATE_CONFLICT' },
          operation: { S: 'reset-admin-password' },
          requestId: { S: 'req-1' },
          idempotencyKey: { S: 'key-1' },
          expiresAt: { N: String(Date.parse('2026-11-23T10:00:00.000Z') / 1000 + 400 * 86_400) },
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    ]);
  });

  it('keeps a success with its secret version, for as long as the stage says (0: until deleted)', async () => {
    dynamo.on(PutItemCommand).resolves({});
    const success: NormalizedResult = {
      ok: true,
      provider: 'ncloud-cdss',
      operation: 'reset-cmak-password',
      region: 'KR',
      clusterId: '1009123',
      dryRun: false,
      requestId: 'req-2',
      completedAt: '2026-11-23T10:00:00.000Z',
      password: { source: 'generated', stored: true, secretArn: 'arn:secret', versionId: 'v-1' },
    };
    await rotationHistory(config({ HISTORY_RETENTION_DAYS: '0' }), client)?.record(success);
    const item = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {};
    expect(item).toMatchObject({
      outcome: { S: 'succeeded' },
      secretArn: { S: 'arn:secret' },
      versionId: { S: 'v-1' },
    });
    expect(item).not.toHaveProperty('expiresAt');
    expect(item).not.toHaveProperty('errorCode');
    expect(item).not.toHaveProperty('caller');
  });

  it('is off without a table, refuses a bad retention at start, and never fails the attempt', async () => {
    expect(rotationHistory(readConfig({ STAGE: 'test' }), client)).toBeUndefined();
    expect(() => rotationHistory(config({ HISTORY_RETENTION_DAYS: 'a year' }), client)).toThrow(
      'HISTORY_RETENTION_DAYS must be a whole number of days',
    );
    dynamo.on(PutItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(rotationHistory(config(), client)?.record(failure)).resolves.toBeUndefined();
  });
});
