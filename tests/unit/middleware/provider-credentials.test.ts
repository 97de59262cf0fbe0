import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clearCache } from '@middy/util';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
import { logger } from '../../../lib/logger.ts';
import { ResetRequest } from '../../../lib/middleware/invocation.ts';
import { providerCredentials } from '../../../lib/middleware/provider-credentials.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import { given, runChain } from '../../support/chain.ts';

const ssm = mockClient(SSMClient);
const PREFIX = '/cluster-password-reset/test/credentials';
const SECRET = 'ssm-held-secret-key-value';

const envelope = (account: string) => ({
  region: 'KR',
  clusterId: '1',
  account,
  storePassword: true,
  dryRun: false,
});

/** Loads the credentials of `account` through middy; answers what the operation would receive. */
const load = async (middleware: ReturnType<typeof providerCredentials>, account: string) => {
  const run = await runChain([given({ envelope: envelope(account) }), middleware], {});
  if (run.error) throw run.error;
  if (!(run.event instanceof ResetRequest)) throw new Error('no validated request');
  return run.event.credentials;
};

const parameter = (name: string, value: string) => ({
  Name: name,
  Type: 'SecureString' as const,
  Value: value,
});

describe('provider-credentials', () => {
  beforeEach(() => {
    ssm.reset();
    clearCache();
  });
  afterEach(() => {
    clearCache();
    vi.restoreAllMocks();
  });

  it('reads the account parameter with decryption and hands the parsed keys to the operation', async () => {
    const name = `${PREFIX}/ncloud/default`;
    ssm
      .on(GetParametersCommand)
      .resolves({ Parameters: [parameter(name, JSON.stringify({ accessKey: 'AK', secretKey: SECRET }))] });
    const middleware = providerCredentials({
      provider: ncloudCdss,
      config: { credentialsPrefix: PREFIX },
    });
    const credentials = await load(middleware, 'default');
    expect(ssm.commandCalls(GetParametersCommand).map((call) => call.args[0].input)).toEqual([
      { Names: [name], WithDecryption: true },
    ]);
    expect(credentials).toEqual({ accessKey: 'AK', secretKey: SECRET });
  });

  it('reuses loaded credentials across warm invocations and reads each account separately', async () => {
    ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
      Parameters: input.Names.map((n) => parameter(n, JSON.stringify({ accessKey: n, secretKey: SECRET }))),
    }));
    const middleware = providerCredentials({
      provider: ncloudCdss,
      config: { credentialsPrefix: PREFIX },
    });
    await load(middleware, 'default');
    await load(middleware, 'default');
    const other = await load(middleware, 'prod');
    expect(ssm.commandCalls(GetParametersCommand).map((call) => call.args[0].input.Names)).toEqual([
      [`${PREFIX}/ncloud/default`],
      [`${PREFIX}/ncloud/prod`],
    ]);
    expect(other).toEqual({ accessKey: `${PREFIX}/ncloud/prod`, secretKey: SECRET });
  });

  /** What the middleware logged at error level: the operator's side of a refusal. */
  let errorLog: { mock: { calls: unknown[][] } };
  const loggedErrors = () =>
    errorLog.mock.calls.map(([message, fields]) => ({ message, fields: fields as Record<string, unknown> }));

  const failure = async (setup: () => void): Promise<ResetError> => {
    setup();
    errorLog = vi.spyOn(logger, 'error');
    const middleware = providerCredentials({
      provider: ncloudCdss,
      config: { credentialsPrefix: PREFIX },
    });
    try {
      await load(middleware, 'default');
    } catch (error) {
      return error as ResetError;
    }
    throw new Error('expected CREDENTIALS_UNAVAILABLE');
  };

  it('answers CREDENTIALS_UNAVAILABLE for a missing parameter, whose name only the log has', async () => {
    const error = await failure(() =>
      ssm
        .on(GetParametersCommand)
        .resolves({ Parameters: [], InvalidParameters: [`${PREFIX}/ncloud/default`] }),
    );
    expect(error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(error.message).toBe('The credentials of account "default" are unavailable');
    expect(loggedErrors()).toEqual([
      {
        message: 'provider credentials could not be read',
        fields: { account: 'default', parameter: `${PREFIX}/ncloud/default`, cause: 'ParameterNotFound' },
      },
    ]);
  });

  it('answers CREDENTIALS_UNAVAILABLE when SSM refuses, logging the name of its error, not its message', async () => {
    const denied = Object.assign(new Error('User arn:aws:iam::1:role/x is not authorized'), {
      name: 'AccessDeniedException',
    });
    const error = await failure(() => ssm.on(GetParametersCommand).rejects(denied));
    expect(error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(error.message).toBe('The credentials of account "default" are unavailable');
    expect(loggedErrors()).toEqual([
      {
        message: 'provider credentials could not be read',
        fields: { account: 'default', parameter: `${PREFIX}/ncloud/default`, cause: 'AccessDeniedException' },
      },
    ]);
    expect(JSON.stringify(loggedErrors())).not.toContain('not authorized');
  });

  it.each([
    ['not JSON', 'plain-text-value'],
    ['without secretKey', JSON.stringify({ accessKey: 'AK' })],
    ['with a wrong type', JSON.stringify({ accessKey: 'AK', secretKey: 42 })],
  ])('answers CREDENTIALS_UNAVAILABLE for a value %s, without quoting it', async (_, value) => {
    const error = await failure(() =>
      ssm.on(GetParametersCommand).resolves({ Parameters: [parameter(`${PREFIX}/ncloud/default`, value)] }),
    );
    expect(error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(error.message).toBe('The credentials of account "default" are unavailable');
    const [logged] = loggedErrors();
    expect(logged).toMatchObject({
      message: 'provider credentials are not a valid credential set',
      fields: { account: 'default', parameter: `${PREFIX}/ncloud/default` },
    });
    expect(logged?.fields?.cause).toMatch(/^not a valid ncloud credential set \(/);
    for (const text of [error.message, JSON.stringify(loggedErrors())]) {
      expect(text).not.toContain('plain-text-value');
      expect(text).not.toContain('AK"');
    }
  });

  it('never tells the caller where the credentials are kept', async () => {
    for (const setup of [
      () =>
        ssm
          .on(GetParametersCommand)
          .resolves({ Parameters: [], InvalidParameters: [`${PREFIX}/ncloud/default`] }),
      () =>
        ssm.on(GetParametersCommand).rejects(Object.assign(new Error('x'), { name: 'ThrottlingException' })),
      () =>
        ssm.on(GetParametersCommand).resolves({ Parameters: [parameter(`${PREFIX}/ncloud/default`, '{}')] }),
    ]) {
      ssm.reset();
      clearCache();
      const error = await failure(setup);
      vi.restoreAllMocks();
      expect(error.message).not.toContain(PREFIX);
      expect(error.message).not.toContain('SSM');
      expect(error.message).not.toContain('/ncloud/');
    }
  });
});
