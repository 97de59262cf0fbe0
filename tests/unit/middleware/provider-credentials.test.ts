import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clearCache } from '@middy/util';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
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
  afterEach(() => clearCache());

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

  const failure = async (setup: () => void): Promise<ResetError> => {
    setup();
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

  it('answers CREDENTIALS_UNAVAILABLE for a missing parameter', async () => {
    const error = await failure(() =>
      ssm
        .on(GetParametersCommand)
        .resolves({ Parameters: [], InvalidParameters: [`${PREFIX}/ncloud/default`] }),
    );
    expect(error.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(error.message).toBe(
      `The credentials of account "default" could not be read from SSM parameter ${PREFIX}/ncloud/default`,
    );
  });

  it('answers CREDENTIALS_UNAVAILABLE when SSM refuses', async () => {
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const error = await failure(() => ssm.on(GetParametersCommand).rejects(denied));
    expect(error.code).toBe('CREDENTIALS_UNAVAILABLE');
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
    expect(error.message).toContain('is not a valid ncloud credential set');
    expect(error.message).not.toContain('plain-text-value');
    expect(error.message).not.toContain('AK"');
  });
});
