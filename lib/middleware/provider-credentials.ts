import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import type { MiddlewareObj } from '@middy/core';
import ssm from '@middy/ssm';
import { getInternal } from '@middy/util';
import type { Config } from '../config.ts';
import { ResetError } from '../errors.ts';
import { logger } from '../logger.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import { type ResetMiddleware, ResetRequest } from './invocation.ts';

export interface ProviderCredentialsOptions<C> {
  provider: ProviderDefinition<C>;
  config: Pick<Config, 'credentialsPrefix'>;
  /** Milliseconds a loaded credential set is reused; finite so that rotated provider keys are picked up. */
  cacheExpiry?: number;
  awsClientOptions?: SSMClientConfig;
}

const credentialsParameterName = (prefix: string, folder: string, account: string): string =>
  `${prefix}/${folder}/${account}`;

/**
 * Why SSM gave nothing, in a word for the log: @middy/ssm reports a name SSM does not know as
 * `InvalidParameter <name>`, wrapped with any other failure in "Failed to resolve internal values";
 * an SDK error is named by its type (its message is not logged).
 */
const readFailure = (error: unknown): string => {
  const data = (error as { cause?: { data?: unknown } } | undefined)?.cause?.data;
  const reason = Array.isArray(data) && data.length > 0 ? data[0] : error;
  if (!(reason instanceof Error)) return 'unknown';
  if (reason.message.startsWith('InvalidParameter ')) return 'ParameterNotFound';
  return reason.name;
};

/** What the caller is told: the account is theirs; where and why stays in the log. */
const unavailable = (account: string, cause?: unknown): ResetError =>
  new ResetError(
    'CREDENTIALS_UNAVAILABLE',
    `The credentials of account "${account}" are unavailable`,
    cause === undefined ? {} : { cause },
  );

/**
 * Loads the account's credentials (SecureString JSON) with @middy/ssm and checks their shape.
 * One @middy/ssm instance per account, created on first use: the account comes from the
 * request, and only that account's parameter is read (no GetParametersByPath over all keys).
 */
export const providerCredentials = <C>(options: ProviderCredentialsOptions<C>): ResetMiddleware => {
  const { provider, config } = options;
  const perAccount = new Map<string, MiddlewareObj>();
  const forParameter = (name: string): MiddlewareObj => {
    let middleware = perAccount.get(name);
    if (!middleware) {
      middleware = ssm({
        fetchData: { providerCredentials: name },
        cacheKey: `provider-credentials:${name}`,
        cacheExpiry: options.cacheExpiry ?? 5 * 60 * 1000,
        disablePrefetch: true,
        awsClientOptions: options.awsClientOptions ?? {},
      }) as MiddlewareObj;
      perAccount.set(name, middleware);
    }
    return middleware;
  };

  return {
    before: async (request) => {
      const { event } = request;
      // Validation ran before: it is what makes the event a ResetRequest.
      if (!(event instanceof ResetRequest)) throw new ResetError('INTERNAL', 'The request was not validated');
      const { envelope } = event;
      const name = credentialsParameterName(
        config.credentialsPrefix,
        provider.credentialsFolder,
        envelope.account,
      );
      let raw: unknown;
      try {
        await forParameter(name).before?.(request);
        raw = (await getInternal(['providerCredentials'], request)).providerCredentials;
      } catch (error) {
        // The parameter's name and the cause are for the operator: only the log has them.
        logger.error('provider credentials could not be read', {
          account: envelope.account,
          parameter: name,
          cause: readFailure(error),
        });
        throw unavailable(envelope.account, error);
      }
      const parsed = provider.credentials.safeParse(raw);
      if (!parsed.success) {
        // zod's messages name the missing or mistyped keys, never the values.
        const problems = parsed.error.issues.map(
          (issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`,
        );
        logger.error('provider credentials are not a valid credential set', {
          account: envelope.account,
          parameter: name,
          cause: `not a valid ${provider.credentialsFolder} credential set (${problems.join('; ')})`,
        });
        throw unavailable(envelope.account);
      }
      event.credentials = parsed.data;
    },
  };
};
