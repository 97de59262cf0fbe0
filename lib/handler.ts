import { randomUUID } from 'node:crypto';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import { dynamoDbClient, eventBridgeClient, secretsManagerClient } from './aws-clients.ts';
import { type Config, readConfig } from './config.ts';
import { ResetError } from './errors.ts';
import { rotationHistory } from './history.ts';
import { logger } from './logger.ts';
import { clusterAllowList } from './middleware/cluster-allow-list.ts';
import { clusterBinding } from './middleware/cluster-binding.ts';
import { invocationMode, type ResetMiddleware, ResetRequest } from './middleware/invocation.ts';
import { rotationMetrics, timedProvider } from './middleware/metrics.ts';
import { normalizeEvent } from './middleware/normalize-event.ts';
import { normalizeResponse } from './middleware/normalize-response.ts';
import { providerCredentials } from './middleware/provider-credentials.ts';
import { publishOutcome } from './middleware/publish-outcome.ts';
import { rotationSecret } from './middleware/rotation-secret.ts';
import { validate } from './middleware/validate.ts';
import { excludingCharacters } from './password/policy.ts';
import type { ProviderDefinition } from './providers/types.ts';
import type { SuccessResult } from './result.ts';
import { rotationRecords } from './rotation/context.ts';
import { RequestFingerprints } from './rotation/fingerprint.ts';
import { runRotationStep } from './rotation/native.ts';
import { rotatePassword } from './rotation/rotate.ts';
import { SecretStore } from './rotation/secret-store.ts';

// The pieces every provider operation is made of. A handler in functions/ composes them:
//   middy().use(resetMiddleware(provider)).handler(resetOperation(provider))

/**
 * The middleware chain, in order: the invocation mode (decided once), logging, metrics, outcome
 * events, answer shape, event → envelope fields (for a Secrets Manager rotation event, from the secret's
 * name and its cluster's binding), validation, the cluster's binding (secret and account), credentials. (Middy runs `after`/`onError` in reverse, so the outcome is published
 * and counted once normalize-response has built it, on success and on error alike.)
 */
export const resetMiddleware = <C>(
  provider: ProviderDefinition<C>,
  config: Config = readConfig(),
): ResetMiddleware[] => {
  // A bad provider setting (an endpoint that is not https, excluded characters that leave the
  // password rule impossible) stops the function here, at start.
  provider.checkSettings?.(config);
  withPasswordSettings(provider, config);
  const records = rotationRecords(dynamoDbClient, config.lockTable, config.leaseSeconds);
  return [
    invocationMode(),
    injectLambdaContext(logger, { resetKeys: true }),
    rotationMetrics({ provider: provider.id, stage: config.stage }),
    publishOutcome({
      client: eventBridgeClient,
      eventBusName: config.eventBusName,
      stage: config.stage,
      history: rotationHistory(config, dynamoDbClient),
    }),
    normalizeResponse({ provider: provider.id, operation: provider.operation }),
    normalizeEvent({ provider: provider.id }),
    rotationSecret({
      provider,
      secrets: new SecretStore(secretsManagerClient, { kmsKeyId: config.secretsKmsKeyId }),
      bindings: records.bindings,
      secretPrefix: config.secretPrefix,
    }),
    validate({ provider, config }),
    clusterAllowList({ provider: provider.id, allowed: config.allowedClusters }),
    clusterBinding({ provider: provider.id, bindings: records.bindings, secretPrefix: config.secretPrefix }),
    providerCredentials({ provider, config }),
  ];
};

/** The provider, its generated passwords leaving out the stage's PASSWORD_EXCLUDE_CHARACTERS. */
const withPasswordSettings = <C>(provider: ProviderDefinition<C>, config: Config): ProviderDefinition<C> => ({
  ...provider,
  passwordPolicy: excludingCharacters(
    provider.passwordPolicy,
    config.passwordExcludeCharacters,
    `PASSWORD_EXCLUDE_CHARACTERS ${JSON.stringify(config.passwordExcludeCharacters)} leaves the ${provider.id} password rule impossible`,
  ),
});

/** The one provider call: rotate the cluster's password with the loaded credentials. */
export const resetOperation = <C>(definition: ProviderDefinition<C>, config: Config = readConfig()) => {
  const provider = withPasswordSettings(definition, config);
  // One per execution environment: the fingerprint key is read once, when first needed.
  const fingerprints = new RequestFingerprints(secretsManagerClient, config.fingerprintKeySecret);
  return async (event: unknown, context: Context): Promise<SuccessResult> => {
    // Only the middleware chain makes a ResetRequest; a raw payload never reaches the provider.
    if (!(event instanceof ResetRequest)) throw new ResetError('INTERNAL', 'The request was not validated');
    const { envelope } = event;
    // A key is always assigned, and answered (failures too), so that a caller can retry and converge.
    envelope.idempotencyKey ??= randomUUID();
    logger.appendKeys({ provider: provider.id, region: envelope.region, clusterId: envelope.clusterId });
    const deps = {
      secrets: new SecretStore(secretsManagerClient, { kmsKeyId: config.secretsKmsKeyId }),
      records: rotationRecords(dynamoDbClient, config.lockTable, config.leaseSeconds),
      fingerprints,
      config,
    };
    const request = {
      // Its reset calls timed for this invocation's ProviderLatency metric.
      provider: timedProvider(provider, context),
      envelope: { ...envelope, idempotencyKey: envelope.idempotencyKey },
      // Checked by provider-credentials; parsed again here for its type, which the chain erases.
      credentials: provider.credentials.parse(event.credentials),
      requestId: context.awsRequestId,
      deadline: Date.now() + context.getRemainingTimeInMillis() - config.deadlineReserveMs,
      invocationDeadline: Date.now() + context.getRemainingTimeInMillis(),
    };
    if (event.rotation) {
      const { step, token, rotationToken } = event.rotation;
      logger.appendKeys({ rotationStep: step });
      return runRotationStep(deps, { ...request, step, token, ...(rotationToken ? { rotationToken } : {}) });
    }
    return rotatePassword(deps, request);
  };
};
