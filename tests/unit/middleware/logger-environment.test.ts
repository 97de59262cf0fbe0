import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { containsSecret } from '../../../lib/redact.ts';
import { eventBridgeEvent, lambdaContext, ncloudHttpEvent } from '../../support/events.ts';
import { recordText, trackSecret } from '../../support/leak-scan.ts';

// No setting of Powertools' Logger makes a password reach the logs: each of the variables the
// Logger reads (Powertools' logger documentation, and its source: Logger.js of 2.x), alone and all
// at once, with the whole handler chain run on events that carry passwords. The logger is a module
// singleton that reads its environment when it is created, so each setting loads the handler anew.

const SUPPLIED = 'Supplied-Cmak-pw-7!';
const REFUSED = 'Refused pw with space 1!';
const IN_EVENT = 'Event-Borne-pw-42!';
const IN_PAYLOAD = 'Direct-Payload-pw-9!';
const SECRET_KEY = 'ncp-secret-key-0123456789abcdef';
const FINGERPRINT_KEY = 'fingerprint-key-0123456789abcdef0123456789abcdef';
const PASSWORDS = [SUPPLIED, REFUSED, IN_EVENT, IN_PAYLOAD, SECRET_KEY, FINGERPRINT_KEY];
trackSecret(...PASSWORDS);

/** Every variable Powertools' Logger (2.x) reads, each set to what logs the most. */
const SETTINGS: Array<[string, Record<string, string>]> = [
  ['POWERTOOLS_LOGGER_LOG_EVENT=true', { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_LOGGER_LOG_EVENT: 'true' }],
  ['POWERTOOLS_LOG_LEVEL=TRACE', { POWERTOOLS_LOG_LEVEL: 'TRACE' }],
  ['POWERTOOLS_LOG_LEVEL=DEBUG', { POWERTOOLS_LOG_LEVEL: 'DEBUG' }],
  ['LOG_LEVEL=DEBUG', { POWERTOOLS_LOG_LEVEL: '', LOG_LEVEL: 'DEBUG' }],
  ['AWS_LAMBDA_LOG_LEVEL=DEBUG', { POWERTOOLS_LOG_LEVEL: 'DEBUG', AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }],
  ['POWERTOOLS_LOGGER_SAMPLE_RATE=1', { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_LOGGER_SAMPLE_RATE: '1' }],
  ['POWERTOOLS_DEV=true', { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_DEV: 'true' }],
  [
    'POWERTOOLS_SERVICE_NAME, ENVIRONMENT, TZ, _X_AMZN_TRACE_ID',
    {
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_SERVICE_NAME: 'renamed-service',
      ENVIRONMENT: 'prod',
      TZ: 'Asia/Seoul',
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
    },
  ],
  [
    'all of them at once',
    {
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
      POWERTOOLS_LOG_LEVEL: 'TRACE',
      LOG_LEVEL: 'TRACE',
      AWS_LAMBDA_LOG_LEVEL: 'TRACE',
      POWERTOOLS_LOGGER_SAMPLE_RATE: '1',
      POWERTOOLS_DEV: 'true',
      ENVIRONMENT: 'prod',
    },
  ],
];

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
const ddb = mockClient(DynamoDBClient);
const eventBridge = mockClient(EventBridgeClient);

/** Everything written while a case runs: both streams, and the global console (POWERTOOLS_DEV). */
let written: string[];
beforeEach(() => {
  written = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
      return true;
    });
  }
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      written.push(args.map(String).join(' '));
    });
  }
  ssm.on(GetParametersCommand).resolves({
    Parameters: [
      {
        Name: '/cluster-password-reset/test/credentials/ncloud/default',
        Value: JSON.stringify({ accessKey: 'ncp-access-key', secretKey: SECRET_KEY }),
      },
    ],
  });
  sm.on(GetSecretValueCommand).resolves({ SecretString: FINGERPRINT_KEY });
  // The lease table refuses: the supplied password has gone through validation and credentials,
  // and the rotation fails (SECRET_STORE_FAILED) before anything is sent.
  ddb
    .onAnyCommand()
    .rejects(Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.resetModules();
  for (const mock of [ssm, sm, ddb, eventBridge]) mock.reset();
});

/** Events that carry a password each its own way. */
const EVENTS = () => [
  ncloudHttpEvent('KR', '1009123', { password: SUPPLIED }, { 'Idempotency-Key': 'k-1' }),
  ncloudHttpEvent('KR', '1009123', { password: REFUSED }),
  eventBridgeEvent({ provider: 'ncloud-cdss', region: 'KR', clusterId: '1009123', password: IN_EVENT }),
  { region: 'KR', clusterId: '1009123', password: IN_PAYLOAD, caller: 'arn:aws:states:x' },
];

/** The handler as functions/ composes it, loaded with the environment as it is now. */
const loadHandler = async () => {
  vi.resetModules();
  const { resetMiddleware, resetOperation } = await import('../../../lib/handler.ts');
  const { readConfig } = await import('../../../lib/config.ts');
  const { ncloudCdss } = await import('../../../lib/providers/ncloud/index.ts');
  const config = readConfig({
    STAGE: 'test',
    FINGERPRINT_KEY_SECRET: 'cluster-password-reset-test-fingerprint-key',
  });
  return middy().use(resetMiddleware(ncloudCdss, config)).handler(resetOperation(ncloudCdss, config));
};

const runAll = async (
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
) => {
  for (const event of EVENTS()) await handler(event, lambdaContext()).catch(() => undefined);
  return written.join('\n');
};

describe("the logger under each of Powertools' settings", () => {
  it.each(SETTINGS)('logs no password with %s', async (_name, settings) => {
    for (const [name, value] of Object.entries(settings)) vi.stubEnv(name, value);
    const output = await runAll(await loadHandler());
    // For the run's own leak scan too (the spies above keep it from the streams it watches).
    recordText(output);
    // Not vacuous: the invocations were logged, each of its refusals or failures.
    expect(output).toContain('password reset failed');
    expect(output).toContain('SECRET_STORE_FAILED');
    expect(output).toContain('PASSWORD_POLICY_VIOLATION');
    for (const password of PASSWORDS) expect(containsSecret(output, [password]), password).toBe(false);
    expect(output).not.toContain('Lambda invocation event');
  });

  it('would have logged the events whole, passwords and all, with a plain Powertools Logger', async () => {
    // The control: what POWERTOOLS_LOGGER_LOG_EVENT does to a Logger that is not ours, so that the
    // scan above is known to see a leak when there is one.
    vi.stubEnv('POWERTOOLS_LOGGER_LOG_EVENT', 'true');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const plain = new Logger({ serviceName: 'control' });
    const handler = middy()
      .use(injectLambdaContext(plain))
      .handler(async () => ({}));
    const output = await runAll(handler);
    expect(output).toContain('Lambda invocation event');
    expect(containsSecret(output, [SUPPLIED])).toBe(true);
    expect(containsSecret(output, [IN_PAYLOAD])).toBe(true);
  });

  it('never logs an event even when a middleware asks it to', async () => {
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
    vi.resetModules();
    const { logger } = await import('../../../lib/logger.ts');
    const handler = middy()
      .use(injectLambdaContext(logger, { logEvent: true }))
      .handler(async () => ({}));
    const output = await runAll(handler);
    recordText(output);
    expect(output).not.toContain('Lambda invocation event');
    for (const password of PASSWORDS) expect(containsSecret(output, [password]), password).toBe(false);
    // Its children are of the same kind.
    logger.createChild().logEventIfEnabled({ password: SUPPLIED, body: `{"password":"${SUPPLIED}"}` }, true);
    expect(containsSecret(written.join('\n'), [SUPPLIED])).toBe(false);
  });
});
