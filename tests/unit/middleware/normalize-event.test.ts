import { describe, expect, it } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
import { invocationMode } from '../../../lib/middleware/invocation.ts';
import { MAX_BODY_BYTES, normalizeEvent } from '../../../lib/middleware/normalize-event.ts';
import { runChain } from '../../support/chain.ts';
import { eventBridgeEvent, ncloudHttpEvent } from '../../support/events.ts';

const chain = [invocationMode(), normalizeEvent({ provider: 'ncloud-cdss' })];

/** The mode and the envelope's fields as the two steps leave them. */
const normalize = async (event: unknown) => {
  const run = await runChain(chain, event);
  if (run.error) throw run.error;
  return { mode: run.internal.mode, input: run.internal.input };
};

const rejection = async (event: unknown): Promise<ResetError> => {
  const run = await runChain(chain, event);
  if (!run.error) throw new Error('expected a validation error');
  return run.error as ResetError;
};

const httpApiV2Event = (body: string, headers: Record<string, string>) => ({
  version: '2.0',
  routeKey: 'POST /ncloud/cdss/{region}/clusters/{clusterId}/cmak-password',
  rawPath: '/ncloud/cdss/SGN/clusters/42/cmak-password',
  rawQueryString: '',
  headers,
  pathParameters: { region: 'SGN', clusterId: '42' },
  requestContext: {
    accountId: '123456789012',
    apiId: 'api',
    domainName: 'api.example.com',
    domainPrefix: 'api',
    http: { method: 'POST', path: '/x', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl' },
    requestId: 'r',
    routeKey: 'POST /x',
    stage: '$default',
    time: '23/Nov/2026:10:00:00 +0000',
    timeEpoch: 1,
  },
  body,
  isBase64Encoded: true,
});

describe('normalize-event', () => {
  it('takes region and cluster from the path, the key from the header, the rest from the body', async () => {
    const event = ncloudHttpEvent(
      'KR',
      '1009123',
      { dryRun: true, account: 'prod' },
      { 'IDEMPOTENCY-KEY': 'k-1' },
    );
    expect(await normalize(event)).toEqual({
      mode: 'http',
      input: {
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1009123',
        dryRun: true,
        account: 'prod',
        idempotencyKey: 'k-1',
      },
    });
  });

  it('reads an HTTP API (v2) event with a base64 body', async () => {
    const body = Buffer.from(JSON.stringify({ dryRun: true })).toString('base64');
    expect(
      await normalize(httpApiV2Event(body, { 'content-type': 'application/json; charset=utf-8' })),
    ).toEqual({
      mode: 'http',
      input: { provider: 'ncloud-cdss', region: 'SGN', clusterId: '42', dryRun: true },
    });
  });

  it('accepts an empty body', async () => {
    expect((await normalize(ncloudHttpEvent('KR', '1'))).input).toEqual({
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
    });
  });

  it.each([
    ['{"dryRun": tru', 'body', 'must be valid JSON'],
    ['[1,2]', 'body', 'must be a JSON object'],
    ['"text"', 'body', 'must be a JSON object'],
    [`{"account":"${'a'.repeat(MAX_BODY_BYTES)}"}`, 'body', `must be at most ${MAX_BODY_BYTES} bytes`],
  ])('refuses the body %#', async (body, field, rule) => {
    const error = await rejection(ncloudHttpEvent('KR', '1', body));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields).toEqual([{ field, rule }]);
  });

  it('refuses a body that is not JSON by content type', async () => {
    const error = await rejection(
      ncloudHttpEvent('KR', '1', 'dryRun=true', { 'Content-Type': 'text/plain' }),
    );
    expect(error.fields).toEqual([{ field: 'content-type', rule: 'must be application/json' }]);
  });

  it('refuses body fields that belong to the path or a header', async () => {
    const error = await rejection(
      ncloudHttpEvent('KR', '1', { region: 'SGN', idempotencyKey: 'x', dryRun: true }),
    );
    expect(error.fields?.map((f) => f.field)).toEqual(['region', 'idempotencyKey']);
  });

  it('uses the EventBridge detail, with the event id as idempotency key', async () => {
    const event = eventBridgeEvent({ provider: 'ncloud-cdss', region: 'KR', clusterId: '7' });
    expect(await normalize(event)).toEqual({
      mode: 'eventbridge',
      input: { provider: 'ncloud-cdss', region: 'KR', clusterId: '7', idempotencyKey: event.id },
    });
  });

  it('refuses an EventBridge event of another detail type', async () => {
    const error = await rejection(eventBridgeEvent({ region: 'KR' }, 'Something Else'));
    expect(error.fields).toEqual([
      { field: 'detail-type', rule: 'must be "Cluster Password Reset Requested"' },
    ]);
  });

  it('passes a direct (Step Functions) payload through as the envelope', async () => {
    expect(await normalize({ region: 'KR', clusterId: '7', idempotencyKey: 'sfn-1' })).toEqual({
      mode: 'direct',
      input: { region: 'KR', clusterId: '7', idempotencyKey: 'sfn-1' },
    });
  });

  it.each([null, 42, 'text', [1]])('refuses a direct payload that is not an object (%j)', async (payload) => {
    const error = await rejection(payload);
    expect(error.fields).toEqual([{ field: '(input)', rule: 'must be a JSON object' }]);
  });

  const TOKEN = '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11';
  const rotationEvent = (change: Record<string, unknown> = {}) => ({
    Step: 'setSecret',
    SecretId: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cluster-password-reset/test/x-AbCdEf',
    ClientRequestToken: TOKEN,
    ...change,
  });

  it("reads a Secrets Manager rotation event into the step it asks for, leaving the envelope's fields to the secret", async () => {
    const run = await runChain(chain, rotationEvent({ RotationToken: 'rotation-token-1' }));
    expect(run.error).toBeUndefined();
    expect(run.internal.mode).toBe('rotation');
    expect(run.internal.rotation).toEqual({
      step: 'setSecret',
      secretId:
        'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cluster-password-reset/test/x-AbCdEf',
      token: TOKEN,
      rotationToken: 'rotation-token-1',
    });
    expect(run.internal.input).toBeUndefined();
    const withoutToken = await runChain(chain, rotationEvent());
    expect(withoutToken.internal.rotation).toEqual({
      step: 'setSecret',
      secretId: expect.any(String),
      token: TOKEN,
    });
  });

  it.each([
    [{ Step: 'deleteSecret' }, 'Step', 'must be one of createSecret, setSecret, testSecret, finishSecret'],
    [{ ClientRequestToken: 'too-short' }, 'ClientRequestToken', 'must be 32-64 letters, digits or "-"'],
    [{ ClientRequestToken: 42 }, 'ClientRequestToken', 'must be a string'],
    [{ SecretId: 'has space' }, 'SecretId', 'must be a secret name or ARN'],
    [{ RotationToken: 'bad token!' }, 'RotationToken', 'must be 1-256 letters, digits or "-"'],
    [{ Extra: 'x' }, 'Extra', 'is not a field of a rotation event'],
  ])('refuses the rotation event %j, naming the field', async (change, field, rule) => {
    const error = await rejection(rotationEvent(change));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields).toEqual([{ field, rule }]);
  });
});
