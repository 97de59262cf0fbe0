import { describe, expect, it, vi } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
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

  describe('the caller', () => {
    const callerOfRun = async (event: unknown) => (await runChain(chain, event)).internal.caller;
    const EXECUTION =
      'arn:aws:states:eu-central-1:123456789012:execution:cluster-password-reset-prod-fleet-rotation:7f1c';

    it('is the IAM ARN that signed an HTTP request (REST API, v1)', async () => {
      expect(await callerOfRun(ncloudHttpEvent('KR', '1'))).toBe('arn:aws:iam::123456789012:user/operator');
    });

    it('is the IAM ARN of an HTTP API (v2) request, from its IAM authorizer', async () => {
      const event = httpApiV2Event('', { 'content-type': 'application/json' });
      const signed = {
        ...event,
        requestContext: {
          ...event.requestContext,
          authorizer: { iam: { userArn: 'arn:aws:sts::123456789012:assumed-role/Ops/jane@example.com' } },
        },
      };
      expect(await callerOfRun(signed)).toBe('arn:aws:sts::123456789012:assumed-role/Ops/jane@example.com');
      expect(await callerOfRun(event)).toBe('unidentified HTTP caller');
    });

    it('is "unidentified HTTP caller" when the request context has no usable identity, and the request goes on', async () => {
      const event = ncloudHttpEvent('KR', '1', { dryRun: true });
      for (const identity of [{}, { userArn: null }, { userArn: 'arn:aws:iam::1:user/a b' }, null]) {
        const run = await runChain(chain, {
          ...event,
          requestContext: { ...event.requestContext, identity },
        });
        expect(run.error).toBeUndefined();
        expect(run.internal.caller).toBe('unidentified HTTP caller');
        expect(run.internal.input).toMatchObject({ region: 'KR', clusterId: '1', dryRun: true });
      }
    });

    it("is the EventBridge event's account and source", async () => {
      const event = eventBridgeEvent({ provider: 'ncloud-cdss', region: 'KR', clusterId: '7' });
      expect(await callerOfRun(event)).toBe('eventbridge:123456789012:cluster-password-reset');
      expect(await callerOfRun({ ...event, account: 'not an account!' })).toBe(
        'unidentified EventBridge sender',
      );
    });

    it('is a direct payload\'s own `caller`, which is not an envelope field, or "direct invocation"', async () => {
      const run = await runChain(chain, { region: 'KR', clusterId: '7', caller: EXECUTION });
      expect(run.internal.caller).toBe(EXECUTION);
      expect(run.internal.input).toEqual({ region: 'KR', clusterId: '7' });
      expect(await callerOfRun({ region: 'KR', clusterId: '7' })).toBe('direct invocation');
    });

    it.each([
      ['', 'empty'],
      ['a'.repeat(513), 'too long'],
      ['arn:aws:states:eu-central-1:1:execution:m:run one', 'with a space'],
      ['caller\nforged', 'with a new line'],
      [42, 'not a string'],
      [null, 'null'],
    ] as Array<[unknown, string]>)('refuses a direct caller %j (%s), without quoting it', async (caller) => {
      const error = await rejection({ region: 'KR', clusterId: '7', caller });
      expect(error.fields).toEqual([
        { field: 'caller', rule: 'must be 1-512 letters, digits or any of : / _ . + = @ $ -' },
      ]);
    });

    it('is not a field of an HTTP body', async () => {
      const error = await rejection(ncloudHttpEvent('KR', '1', { caller: EXECUTION }));
      expect(error.fields?.map((f) => f.field)).toEqual(['caller']);
    });

    it('stays in the detail of an EventBridge event, where validation refuses it as an unknown field', async () => {
      const event = eventBridgeEvent({
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '7',
        caller: EXECUTION,
      });
      const run = await runChain(chain, event);
      expect(run.internal.caller).toBe('eventbridge:123456789012:cluster-password-reset');
      expect(run.internal.input).toMatchObject({ caller: EXECUTION });
    });

    it('is "rotation event", never a service principal, for a payload of the rotation shape: anyone allowed to invoke can send one', async () => {
      const run = await runChain(chain, {
        Step: 'createSecret',
        SecretId: 'cluster-password-reset/test/ncloud-cdss/KR/1',
        ClientRequestToken: '6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b9c0a11',
      });
      expect(run.internal.caller).toBe('rotation event');
      expect(run.internal.callerVerified).toBe(false);
      expect(JSON.stringify(run.internal)).not.toContain('amazonaws.com');
    });

    it.each([
      ['a signed HTTP request', () => ncloudHttpEvent('KR', '1'), true],
      [
        'an EventBridge event',
        () => eventBridgeEvent({ provider: 'ncloud-cdss', region: 'KR', clusterId: '7' }),
        true,
      ],
      [
        'a direct payload that names its caller',
        () => ({ region: 'KR', clusterId: '7', caller: EXECUTION }),
        false,
      ],
      ['a direct payload that does not', () => ({ region: 'KR', clusterId: '7' }), false],
    ])('marks the caller of %s as verified: %s', async (_name, event, verified) => {
      expect((await runChain(chain, event())).internal.callerVerified).toBe(verified);
    });

    it('is appended, with whether it is verified, to the keys of every later log line of the invocation', async () => {
      const appendKeys = vi.spyOn(logger, 'appendKeys');
      try {
        await runChain(chain, { region: 'KR', clusterId: '7', caller: EXECUTION });
        expect(appendKeys).toHaveBeenCalledWith({ caller: EXECUTION, callerVerified: false });
      } finally {
        appendKeys.mockRestore();
      }
    });
  });
});
