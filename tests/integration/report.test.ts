import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  InvalidNextTokenException,
  ListSecretsCommand,
  type ListSecretsCommandInput,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { clusterHistory, type HistoryEntry, historyKey } from '../../lib/history.ts';
import { lambdaFunctionArn } from '../../sandbox/aws.ts';
import {
  formatTable,
  managedSecretsReport,
  type ReportOptions,
  type ReportRow,
} from '../../scripts/report.ts';
import { lambdaContext } from '../support/events.ts';
import { recordText } from '../support/leak-scan.ts';
import { STAGE } from './harness.ts';
import { invokeInMode, useSuite } from './suite.ts';

// `npm run report`: the managed secrets of a stage, from Secrets Manager's metadata and the rotation
// history, against the sandbox after real rotations of each provider (direct invocations, Secrets
// Manager's own rotation, one left pending), beside secrets that must not be listed; and
// `npm run report -- --history`: every attempt, with who asked and how it ended.

const suite = useSuite();
const PROVIDER_IDS = ['ncloud-cdss', 'otc-css', 'huaweicloud-css'] as const;
const functionArn = (providerId: string) => lambdaFunctionArn(`report-${providerId}`);
let client: SecretsManagerClient;
let dynamo: DynamoDBClient;
let historyTable: string;
let started: number;
/** When the Huawei cluster's first (successful) rotation ended, before its failed attempt. */
let huaweiFirstSuccess: string;
/** The clusters the report must list, by provider; `pending` has a rotation left unfinished. */
const clusters: Record<string, string> = {};

const directRotation = (providerId: string, clusterId: string) =>
  invokeInMode(suite.handler(providerId), 'direct', {
    envelope: { provider: providerId, region: suite.harness(providerId).region, clusterId },
    httpEvent: () => undefined,
  });

const tags = (entries: Record<string, string>) =>
  Object.entries(entries).map(([Key, Value]) => ({ Key, Value }));

/** Runs the CLI as `npm run report` does (without npm's banner); answers exit code and output. */
const cli = async (args: string[], env: Record<string, string | undefined> = {}) => {
  const merged: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [key, value] of Object.entries(merged)) if (value === undefined) delete merged[key];
  const answer = await promisify(execFile)(process.execPath, ['scripts/report.ts', ...args], {
    env: merged as NodeJS.ProcessEnv,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
  recordText(answer.stdout + answer.stderr);
  return answer;
};

beforeAll(async () => {
  started = Date.now();
  client = new SecretsManagerClient({});
  dynamo = new DynamoDBClient({});
  historyTable = suite.sandbox.env.HISTORY_TABLE as string;
  for (const providerId of PROVIDER_IDS) {
    suite.sandbox.aws.rotationFunctions.set(functionArn(providerId), (event) =>
      suite.handler(providerId)(event, lambdaContext()),
    );
    const { id } = suite.cluster(providerId);
    const answer = await directRotation(providerId, id);
    expect(answer.ok).toBe(true);
    if (providerId === 'huaweicloud-css')
      huaweiFirstSuccess = (answer as { completedAt: string }).completedAt;
    clusters[providerId] = id;
  }
  // Secrets Manager's own rotation, on a schedule, for the OTC cluster.
  await client.send(
    new RotateSecretCommand({
      SecretId: suite.secretName('otc-css', clusters['otc-css'] as string),
      RotationLambdaARN: functionArn('otc-css'),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    }),
  );
  // A second rotation of the Huawei cluster whose outcome never arrives: left pending.
  const huawei = clusters['huaweicloud-css'] as string;
  suite.harness('huaweicloud-css').addFault({ operation: 'reset', clusterId: huawei, applyThenDrop: true });
  expect(await directRotation('huaweicloud-css', huawei)).toMatchObject({ thrown: 'ProviderUnavailable' });
  // A Naver cluster whose first rotation never finished: its secret holds no password yet.
  const { id: never } = suite.cluster('ncloud-cdss');
  suite.harness('ncloud-cdss').addFault({ operation: 'reset', clusterId: never, applyThenDrop: true });
  expect(await directRotation('ncloud-cdss', never)).toMatchObject({ thrown: 'ProviderUnavailable' });
  clusters.never = never;

  // Not to be listed: no tags, another project's tag pair, another stage's prefix.
  const managed = { 'managed-by': 'cluster-password-reset', provider: 'otc-css', region: 'eu-de' };
  for (const [Name, Tags] of [
    [`${suite.secretPrefix}/ncloud-cdss/KR/untagged`, []],
    [
      `${suite.secretPrefix}/otc-css/eu-de/someone-elses`,
      tags({ 'managed-by': 'someone-else', owner: 'cluster-password-reset', 'cluster-id': 'x' }),
    ],
    [`cluster-password-reset/other/otc-css/eu-de/other-stage`, tags({ ...managed, 'cluster-id': 'other' })],
  ] as const) {
    await client.send(
      new CreateSecretCommand({ Name, SecretString: '{"password":"Decoy-Password-1!"}', Tags: [...Tags] }),
    );
  }
  suite.secretsUsed.add('Decoy-Password-1!');
});

const expectedClusters = () =>
  [
    ['ncloud-cdss', 'KR', clusters['ncloud-cdss']],
    ['ncloud-cdss', 'KR', clusters.never],
    ['otc-css', 'eu-de', clusters['otc-css']],
    ['huaweicloud-css', 'ap-southeast-1', clusters['huaweicloud-css']],
  ].map(([provider, region, clusterId]) => ({ provider, region, clusterId }));

/** The report's options with the stage's rotation history. */
const withHistory = (options: ReportOptions): ReportOptions => ({
  ...options,
  history: { client: dynamo, table: historyTable },
});

const rowFor = (rows: ReportRow[], clusterId: string | undefined) =>
  rows.find((row) => row.clusterId === clusterId) as ReportRow;

describe('the report of a stage', () => {
  it('lists exactly the managed clusters, with their last rotation, schedule and pending rotation', async () => {
    const rows = await managedSecretsReport(client, withHistory({ stage: STAGE }));
    const byCluster = (a: { clusterId?: string }, b: { clusterId?: string }) =>
      String(a.clusterId).localeCompare(String(b.clusterId));
    expect(
      rows.map(({ provider, region, clusterId }) => ({ provider, region, clusterId })).sort(byCluster),
    ).toEqual(expectedClusters().sort(byCluster));

    for (const row of rows) {
      expect(row.secretName).toBe(suite.secretName(row.provider, row.clusterId));
      expect(row.account).toBe('default');
      // CSS clusters carry their project; Naver's have none.
      if (row.provider === 'ncloud-cdss') expect(row.projectId).toBeNull();
      else expect(row.projectId).toMatch(/^[0-9a-f]{32}$/);
      if (row.clusterId === clusters.never) continue;
      const at = Date.parse(row.lastRotation as string);
      expect(at).toBeGreaterThanOrEqual(started - 1_000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }

    const otc = rowFor(rows, clusters['otc-css']);
    expect(otc).toMatchObject({
      rotationScheduled: true,
      schedule: 'rate(30 days)',
      rotationPending: false,
      lastRotationSource: 'history',
    });
    // The native rotation's success, which also starts the schedule's 30 days.
    const interval = Date.parse(otc.nextRotation as string) - Date.parse(otc.lastRotation as string);
    expect(Math.abs(interval - 30 * 86_400_000)).toBeLessThanOrEqual(5_000);
    expect(rowFor(rows, clusters['ncloud-cdss'])).toMatchObject({
      rotationScheduled: false,
      schedule: null,
      nextRotation: null,
      rotationPending: false,
      lastRotationSource: 'history',
    });
    // Rotated once, then a rotation left pending: the last rotation is the success, not the attempt.
    expect(rowFor(rows, clusters['huaweicloud-css'])).toMatchObject({
      rotationScheduled: false,
      rotationPending: true,
      lastRotation: huaweiFirstSuccess,
      lastRotationSource: 'history',
    });
    expect(rowFor(rows, clusters.never)).toMatchObject({
      lastRotation: null,
      lastRotationSource: null,
      rotationPending: true,
      rotationScheduled: false,
    });
  });

  it('reads metadata only: every page of ListSecrets, and never a secret value', async () => {
    const before = suite.sandbox.aws.calls.length;
    const onePerPage = await managedSecretsReport(client, withHistory({ stage: STAGE, pageSize: 1 }));
    expect(onePerPage).toEqual(await managedSecretsReport(client, withHistory({ stage: STAGE })));
    const calls = suite.sandbox.aws.calls.slice(before).map((call) => call.target);
    expect(new Set(calls)).toEqual(new Set(['secretsmanager.ListSecrets']));
    // One page per secret the filters pass (the managed ones, and the decoy whose tags hold the key
    // and the value apart, which the report drops), and one for the whole report.
    expect(calls.length).toBe(expectedClusters().length + 1 + 1);
  });

  it("lists neither another stage's secrets nor, for a short prefix, those of every stage", async () => {
    expect(
      (await managedSecretsReport(client, withHistory({ stage: 'other' }))).map(
        ({ secretName }) => secretName,
      ),
    ).toEqual(['cluster-password-reset/other/otc-css/eu-de/other-stage']);
    // `cluster-password-reset` is the start of every stage's names, but names `{prefix}/{provider}/…`.
    expect(
      await managedSecretsReport(client, withHistory({ secretPrefix: 'cluster-password-reset' })),
    ).toEqual([]);
    expect(await managedSecretsReport(client, withHistory({ stage: 'nothing-here' }))).toEqual([]);
  });
});

describe('npm run report', () => {
  const endpoint = () => ['--endpoint-url', suite.sandbox.urls.aws, '--history-table', historyTable];
  const secrets = () => [...suite.secretsUsed, ...suite.sandbox.secretMaterial()];
  const cells = (stdout: string, clusterId: string | undefined) =>
    stdout
      .split('\n')
      .find((line) => line.includes(` ${clusterId} `))
      ?.split(/ {2,}/);

  it('prints a table of the clusters, and no password', async () => {
    const { code, stdout, stderr } = await cli(['--stage', STAGE, ...endpoint()]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.split('\n')[0]).toBe(
      `Secrets tagged managed-by: cluster-password-reset under ${suite.secretPrefix}/ in eu-central-1:`,
    );
    expect(stdout).toMatch(
      /^PROVIDER +REGION +CLUSTER +PROJECT +LAST ROTATION +SCHEDULED +NEXT ROTATION +PENDING$/m,
    );
    expect(cells(stdout, clusters['otc-css'])).toEqual([
      'otc-css',
      'eu-de',
      clusters['otc-css'],
      expect.stringMatching(/^[0-9a-f]{32}$/),
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      'yes (rate(30 days))',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      'no',
    ]);
    expect(cells(stdout, clusters['ncloud-cdss'])).toEqual([
      'ncloud-cdss',
      'KR',
      clusters['ncloud-cdss'],
      '-',
      expect.stringMatching(/Z$/),
      'no',
      '-',
      'no',
    ]);
    expect(cells(stdout, clusters['huaweicloud-css'])?.slice(5)).toEqual(['no', '-', 'yes']);
    expect(cells(stdout, clusters.never)?.slice(4)).toEqual(['never', 'no', '-', 'yes']);
    expect(stdout).toContain('Last rotation: the last successful one, from the rotation history');
    expect(cells(stdout, clusters['huaweicloud-css'])?.[4]).toBe(
      huaweiFirstSuccess.replace(/\.\d{3}Z$/, 'Z'),
    );
    for (const name of ['untagged', 'someone-elses', 'other-stage']) expect(stdout).not.toContain(name);
    for (const secret of secrets()) expect(stdout + stderr).not.toContain(secret);
  });

  it('prints the rows as JSON with --json, and no password', async () => {
    const { code, stdout, stderr } = await cli(['--stage', STAGE, '--json', ...endpoint()]);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const rows = JSON.parse(stdout) as ReportRow[];
    expect(rows).toEqual(await managedSecretsReport(client, withHistory({ stage: STAGE })));
    expect(formatTable(rows)).toContain(clusters['otc-css']);
    for (const secret of secrets()) expect(stdout).not.toContain(secret);
  });

  it('says so and exits 0 when no secret matches', async () => {
    const table = await cli(['--stage', 'nothing-here', ...endpoint()]);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    expect(table.stdout.trim()).toBe(
      'No secrets tagged managed-by: cluster-password-reset under cluster-password-reset/nothing-here/ in eu-central-1.',
    );
    const json = await cli(['--stage', 'nothing-here', '--json', ...endpoint()]);
    expect(json).toMatchObject({ code: 0, stdout: '[]\n' });
    expect(json.stderr).toContain('No secrets tagged');
  });

  it("reads npm start's sandbox for stage local when no endpoint is set, and says so", async () => {
    const { code, stdout, stderr } = await cli(['--stage', 'local'], {
      AWS_ENDPOINT_URL_SECRETS_MANAGER: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      SANDBOX_AWS_PORT: new URL(suite.sandbox.urls.aws).port,
    });
    expect(code).toBe(0);
    expect(stderr).toContain(
      `stage local: reading the sandbox's Secrets Manager at ${suite.sandbox.urls.aws}`,
    );
    expect(stdout).toContain('under cluster-password-reset/local/');
  });

  it('exits non-zero with a one-line hint when Secrets Manager cannot be reached', async () => {
    const { code, stdout, stderr } = await cli(['--stage', STAGE, '--endpoint-url', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^report: nothing answers at http:\/\/127\.0\.0\.1:9: is `npm start` running\?/),
    ]);
  });
});

describe('the rotation history', () => {
  const target = (providerId: string, clusterId = clusters[providerId] as string) => ({
    provider: providerId,
    region: suite.harness(providerId).region,
    clusterId,
  });
  const secrets = () => [...suite.secretsUsed, ...suite.sandbox.secretMaterial()];

  it('keeps every real attempt of a cluster: when, who asked, the outcome and the error code', async () => {
    const huawei = await clusterHistory(dynamo, historyTable, target('huaweicloud-css'));
    expect(huawei).toEqual([
      expect.objectContaining({
        provider: 'huaweicloud-css',
        clusterId: clusters['huaweicloud-css'],
        at: huaweiFirstSuccess,
        outcome: 'succeeded',
        caller: 'direct invocation',
        errorCode: null,
        secretArn: expect.stringContaining(
          suite.secretName('huaweicloud-css', clusters['huaweicloud-css'] as string),
        ),
      }),
      expect.objectContaining({
        outcome: 'failed',
        errorCode: 'PROVIDER_UNAVAILABLE',
        caller: 'direct invocation',
      }),
    ]);
    expect((huawei[1] as HistoryEntry).at > huaweiFirstSuccess).toBe(true);
    // The direct rotation, then Secrets Manager's own (its success comes from finishSecret).
    expect(
      (await clusterHistory(dynamo, historyTable, target('otc-css'))).map(({ outcome, caller }) => [
        outcome,
        caller,
      ]),
    ).toEqual([
      ['succeeded', 'direct invocation'],
      ['succeeded', 'rotation event'],
    ]);
    // Each entry expires after the stage's retention (400 days by default), counted from the attempt.
    const { Items } = await dynamo.send(
      new QueryCommand({
        TableName: historyTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: {
          ':pk': { S: historyKey('otc-css', 'eu-de', clusters['otc-css'] as string) },
        },
      }),
    );
    for (const item of Items ?? []) {
      expect(Number(item.expiresAt?.N) - Math.floor(Date.parse(item.at?.S as string) / 1000)).toBe(
        400 * 86_400,
      );
      for (const secret of secrets()) expect(JSON.stringify(item)).not.toContain(secret);
    }
  });

  it("prints one cluster's attempts with --history --cluster, oldest first, and no password", async () => {
    const { provider, region, clusterId } = target('huaweicloud-css');
    const { code, stdout, stderr } = await cli([
      '--stage',
      STAGE,
      '--history-table',
      historyTable,
      '--history',
      '--cluster',
      `${provider}/${region}/${clusterId}`,
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(
      `Rotation attempts of ${provider}/${region}/${clusterId} in ${historyTable}, oldest first:`,
    );
    expect(lines[2]).toMatch(/^AT +PROVIDER +REGION +CLUSTER +OUTCOME +ERROR +CALLER$/);
    expect(lines.slice(3).map((line) => line.split(/ {2,}/))).toEqual([
      [
        huaweiFirstSuccess.replace(/\.\d{3}Z$/, 'Z'),
        provider,
        region,
        clusterId,
        'succeeded',
        '-',
        'direct invocation',
      ],
      [
        expect.stringMatching(/Z$/),
        provider,
        region,
        clusterId,
        'failed',
        'PROVIDER_UNAVAILABLE',
        'direct invocation',
      ],
    ]);
    for (const secret of secrets()) expect(stdout).not.toContain(secret);
  });

  it("prints the whole stage's attempts as JSON with --history --json, failed first attempts included", async () => {
    const { code, stdout } = await cli([
      '--stage',
      STAGE,
      '--history-table',
      historyTable,
      '--history',
      '--json',
    ]);
    expect(code).toBe(0);
    const entries = JSON.parse(stdout) as HistoryEntry[];
    const count = (clusterId: string | undefined) => entries.filter((e) => e.clusterId === clusterId).length;
    expect([
      count(clusters['ncloud-cdss']),
      count(clusters['otc-css']),
      count(clusters['huaweicloud-css']),
      count(clusters.never),
    ]).toEqual([1, 2, 2, 1]);
    // The Naver cluster whose first rotation never finished: an attempt, though it has no password yet.
    expect(entries.find((e) => e.clusterId === clusters.never)).toMatchObject({
      outcome: 'failed',
      errorCode: 'PROVIDER_UNAVAILABLE',
    });
    for (const secret of secrets()) expect(stdout).not.toContain(secret);
  });

  it('refuses --cluster without --history, or not as provider/region/clusterId', async () => {
    expect(await cli(['--stage', STAGE, '--history', '--cluster', 'otc-css/eu-de'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--cluster must be <provider>/<region>/<clusterId>'),
    });
    expect(await cli(['--stage', STAGE, '--cluster', 'otc-css/eu-de/x'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--cluster goes with --history'),
    });
  });

  it('falls back, for a cluster the history has no success of, to when AWSCURRENT was created, and says why', async () => {
    const reasons: string[] = [];
    const rows = await managedSecretsReport(client, {
      stage: STAGE,
      history: { client: dynamo, table: 'no-such-table' },
      onHistoryUnavailable: (reason) => reasons.push(reason),
    });
    expect(reasons).toEqual(['no rotation history table no-such-table']);
    const huawei = rowFor(rows, clusters['huaweicloud-css']);
    // The AWSCURRENT version still is the first rotation's: the failed attempt does not count.
    expect(huawei.lastRotationSource).toBe('AWSCURRENT version');
    expect(Date.parse(huawei.lastRotation as string)).toBeLessThanOrEqual(Date.parse(huaweiFirstSuccess));
    expect(Date.parse(huawei.lastRotation as string)).toBeGreaterThanOrEqual(started - 1_000);
    expect(rowFor(rows, clusters.never)).toMatchObject({ lastRotation: null, lastRotationSource: null });
  });

  it('writes an entry once: a repeated write of the same attempt changes nothing', async () => {
    const before = await clusterHistory(dynamo, historyTable, target('ncloud-cdss'));
    expect(before).toHaveLength(1);
    const { rotationHistory } = await import('../../lib/history.ts');
    const { readConfig } = await import('../../lib/config.ts');
    const history = rotationHistory(readConfig(), dynamo);
    const [entry] = before as [HistoryEntry];
    await history?.record({
      ok: false,
      provider: 'ncloud-cdss',
      operation: entry.operation,
      region: entry.region,
      clusterId: entry.clusterId,
      dryRun: false,
      requestId: entry.requestId,
      completedAt: entry.at,
      error: { code: 'INTERNAL', message: 'x', retryable: false },
    });
    expect(await clusterHistory(dynamo, historyTable, target('ncloud-cdss'))).toEqual(before);
  });
});

describe("the sandbox's ListSecrets", () => {
  const list = (input: ListSecretsCommandInput) => client.send(new ListSecretsCommand(input));

  it('pages with MaxResults and NextToken, each secret once', async () => {
    const names: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await list({ MaxResults: 2, ...(NextToken ? { NextToken } : {}) });
      expect(page.SecretList?.length).toBeLessThanOrEqual(2);
      names.push(...(page.SecretList ?? []).map((entry) => entry.Name as string));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    expect(names).toEqual([...suite.sandbox.aws.secrets.keys()]);
    expect(pages).toBe(Math.ceil(names.length / 2));
    await expect(list({ NextToken: 'bm90LWEtc2VjcmV0' })).rejects.toBeInstanceOf(InvalidNextTokenException);
    await expect(list({ MaxResults: 101 })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('filters by name prefix, tag key and tag value (case-sensitive, all filters, any value, ! excludes)', async () => {
    const names = async (Filters: Array<{ Key: 'name' | 'tag-key' | 'tag-value'; Values: string[] }>) =>
      ((await list({ Filters })).SecretList ?? []).map((entry) => entry.Name as string).sort();
    const otherStage = 'cluster-password-reset/other/otc-css/eu-de/other-stage';
    expect(await names([{ Key: 'name', Values: ['cluster-password-reset/other/'] }])).toEqual([otherStage]);
    expect(await names([{ Key: 'name', Values: ['Cluster-password-reset/other/'] }])).toEqual([]);
    expect(await names([{ Key: 'tag-key', Values: ['own'] }])).toEqual([
      `${suite.secretPrefix}/otc-css/eu-de/someone-elses`,
    ]);
    // Key and value are matched apart: a secret with the key and another tag with the value passes.
    const tagged = await names([
      { Key: 'tag-key', Values: ['managed-by'] },
      { Key: 'tag-value', Values: ['cluster-password-reset'] },
    ]);
    expect(tagged).toContain(`${suite.secretPrefix}/otc-css/eu-de/someone-elses`);
    expect(tagged).toContain(otherStage);
    expect(tagged).not.toContain(`${suite.secretPrefix}/ncloud-cdss/KR/untagged`);
    expect(
      await names([
        { Key: 'name', Values: ['cluster-password-reset/other/', `${suite.secretPrefix}/otc-css/`] },
        { Key: 'tag-value', Values: ['!someone'] },
      ]),
    ).toEqual([suite.secretName('otc-css', clusters['otc-css'] as string), otherStage]);
  });

  it('answers the metadata of a secret, never its value', async () => {
    const name = suite.secretName('otc-css', clusters['otc-css'] as string);
    const [entry] = (await list({ Filters: [{ Key: 'name', Values: [name] }] })).SecretList ?? [];
    const secret = suite.sandbox.aws.secrets.get(name);
    expect(entry).toMatchObject({
      Name: name,
      ARN: secret?.arn,
      RotationEnabled: true,
      RotationLambdaARN: functionArn('otc-css'),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      LastRotatedDate: expect.any(Date),
      LastChangedDate: expect.any(Date),
      NextRotationDate: expect.any(Date),
      CreatedDate: expect.any(Date),
      Tags: expect.arrayContaining([{ Key: 'managed-by', Value: 'cluster-password-reset' }]),
      SecretVersionsToStages: Object.fromEntries(
        [...(secret?.versions.values() ?? [])]
          .filter((v) => v.stages.size > 0)
          .map((v) => [v.id, [...v.stages]]),
      ),
    });
    expect(JSON.stringify(entry)).not.toContain('password"');
    expect(entry).not.toHaveProperty('SecretString');
  });
});
