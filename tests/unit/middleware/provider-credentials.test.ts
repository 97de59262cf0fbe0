import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { clearCache } from '@middy/util';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResetError } from '../../../lib/errors.ts';
import type { ValidatedEvent } from '../../../lib/middleware/invocation.ts';
import { providerCredentials } from '../../../lib/middleware/provider-credentials.ts';
import { ncloudCdss } from '../../../lib/providers/ncloud/index.ts';
import { lambdaContext } from '../../support/events.ts';

const ssm = mockClient(SSMClient);
const PREFIX = '/cluster-password-reset/test/credentials';
const SECRET = 'ssm-held-secret-key-value';

const requestFor = (account: string) => {
  const event: ValidatedEvent = {
    mode: 'direct',
    envelope: {
      provider: 'ncloud-cdss',
      region: 'KR',
      clusterId: '1',
      account,
      storePassword: true,
      dryRun: false,
    },
  };
  return { event, context: lambdaContext(), internal: {}, response: undefined, error: undefined };
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

  it('reads the account parameter with decryption and puts the parsed keys on the context', async () => {
    const name = `${PREFIX}/ncloud/default`;
    ssm
      .on(GetParametersCommand)
      .resolves({ Parameters: [parameter(name, JSON.stringify({ accessKey: 'AK', secretKey: SECRET }))] });
    const middleware = providerCredentials({
      provider: ncloudCdss as never,
      config: { credentialsPrefix: PREFIX },
    });
    const request = requestFor('default');
    await middleware.before?.(request as never);
    expect(ssm.commandCalls(GetParametersCommand).map((call) => call.args[0].input)).toEqual([
      { Names: [name], WithDecryption: true },
    ]);
    expect((request.context as unknown as { providerCredentials: unknown }).providerCredentials).toEqual({
      accessKey: 'AK',
      secretKey: SECRET,
    });
  });

  it('reuses loaded credentials across warm invocations and reads each account separately', async () => {
    ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
      Parameters: input.Names.map((n) => parameter(n, JSON.stringify({ accessKey: n, secretKey: SECRET }))),
    }));
    const middleware = providerCredentials({
      provider: ncloudCdss as never,
      config: { credentialsPrefix: PREFIX },
    });
    await middleware.before?.(requestFor('default') as never);
    await middleware.before?.(requestFor('default') as never);
    const other = requestFor('prod');
    await middleware.before?.(other as never);
    expect(ssm.commandCalls(GetParametersCommand).map((call) => call.args[0].input.Names)).toEqual([
      [`${PREFIX}/ncloud/default`],
      [`${PREFIX}/ncloud/prod`],
    ]);
    expect(
      (other.context as unknown as { providerCredentials: { accessKey: string } }).providerCredentials
        .accessKey,
    ).toBe(`${PREFIX}/ncloud/prod`);
  });

  const failure = async (setup: () => void): Promise<ResetError> => {
    setup();
    const middleware = providerCredentials({
      provider: ncloudCdss as never,
      config: { credentialsPrefix: PREFIX },
    });
    try {
      await middleware.before?.(requestFor('default') as never);
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
