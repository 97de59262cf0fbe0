import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Envelope } from '../envelope.ts';
import { ResetError, validationFailed } from '../errors.ts';
import { logger } from '../logger.ts';
import { generatePassword } from '../password/policy.ts';
import type { ProviderClient, ProviderDefinition, Target } from '../providers/types.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import type { LeaseTable } from './lease-table.ts';
import {
  AWSCURRENT,
  AWSPENDING,
  defaultSecretName,
  type SecretState,
  type SecretStore,
  versionWithStage,
} from './secret-store.ts';

export interface RotationDeps {
  secrets: SecretStore;
  leases: LeaseTable;
  config: Config;
}

export interface RotationRequest<C = unknown> {
  provider: ProviderDefinition<C>;
  envelope: Envelope & { idempotencyKey: string };
  credentials: C;
  requestId: string;
  /** Epoch ms by which the rotation must have answered. */
  deadline: number;
}

/**
 * Secrets Manager version id (ClientRequestToken, 32–64 chars) derived from the idempotency key:
 * a retry with the same key addresses the same pending version and so re-sends the same password.
 */
export const versionIdFor = (secretName: string, idempotencyKey: string): string => {
  const hex = createHash('sha256').update(`${secretName}\n${idempotencyKey}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

const targetOf = <C>(request: RotationRequest<C>): Target => {
  const { provider, envelope, credentials } = request;
  const base: Target = { provider: provider.id, region: envelope.region, clusterId: envelope.clusterId };
  if (envelope.projectId !== undefined) base.projectId = envelope.projectId;
  return provider.completeTarget ? provider.completeTarget(base, credentials) : base;
};

/**
 * The rotation protocol of DESIGN.md: lease → pending version → provider reset → AWSCURRENT.
 * The password is stored before it is sent; a retry with the same idempotency key re-sends the
 * stored pending password (so stored and provider converge), and a retry after completion
 * answers the recorded result without a second reset.
 */
export const rotatePassword = async <C>(
  deps: RotationDeps,
  request: RotationRequest<C>,
): Promise<SuccessResult> => {
  const { provider, envelope } = request;
  const target = targetOf(request);
  const client = provider.createClient({
    credentials: request.credentials,
    target,
    config: deps.config,
    deadline: request.deadline,
  });
  const source: PasswordReport['source'] = envelope.password === undefined ? 'generated' : 'supplied';
  const answer = (password: PasswordReport, extra: Partial<SuccessResult> = {}): SuccessResult => ({
    ok: true,
    provider: provider.id,
    operation: provider.operation,
    region: target.region,
    clusterId: target.clusterId,
    dryRun: envelope.dryRun,
    password,
    ...extra,
    requestId: request.requestId,
    idempotencyKey: envelope.idempotencyKey,
    completedAt: new Date().toISOString(),
  });

  if (envelope.dryRun) {
    const password = envelope.password ?? generatePassword(provider.passwordPolicy);
    return answer({ source, stored: false }, { request: client.prepareReset(password) });
  }

  const secretName = envelope.secretId ?? defaultSecretName(deps.config.secretPrefix, target);
  const versionId = versionIdFor(secretName, envelope.idempotencyKey);
  const resultKey = `result#${secretName}#${versionId}`;
  const recorded = await deps.leases.findResult<SuccessResult>(resultKey);
  if (recorded) return recorded;

  const leaseKey = `lease#${target.provider}#${target.region}#${target.clusterId}`;
  const owner = `${request.requestId}/${randomUUID()}`;
  await deps.leases.acquire(leaseKey, owner);
  try {
    const result = envelope.storePassword
      ? await rotateStored(deps, request, client, secretName, versionId, source, answer)
      : await resetUnstored(request, client, answer);
    // The rotation is complete: failing to record or release from here on is logged, not
    // answered as a failure. A missing record is rebuilt from the secret's labels on a retry;
    // an unreleased lease expires.
    await deps.leases.recordResult(resultKey, result).catch(logAfterCompletion('record the result'));
    return result;
  } finally {
    await deps.leases.release(leaseKey, owner).catch(logAfterCompletion('release the lease'));
  }
};

const logAfterCompletion = (step: string) => (error: unknown) => {
  logger.warn(`could not ${step}`, { errorName: error instanceof Error ? error.name : 'unknown' });
};

type Answer = (password: PasswordReport, extra?: Partial<SuccessResult>) => SuccessResult;

const rotateStored = async <C>(
  deps: RotationDeps,
  request: RotationRequest<C>,
  client: ProviderClient,
  secretName: string,
  versionId: string,
  source: PasswordReport['source'],
  answer: Answer,
): Promise<SuccessResult> => {
  const { provider, envelope } = request;
  const target: Target = { provider: provider.id, region: envelope.region, clusterId: envelope.clusterId };
  // The cluster is checked first: a request for a cluster that is unknown or busy leaves nothing
  // behind, and the check names the account whose password this is.
  const facts = await client.assertReady();
  let secret = await deps.secrets.ensure(secretName, target, versionIdFor(secretName, '(placeholder)'));
  const report: PasswordReport = { source, stored: true, secretArn: secret.arn, versionId };
  const stages = secret.versions.get(versionId);

  // Our version exists without AWSPENDING: an earlier attempt with this key completed (it is
  // AWSCURRENT, or was and has since been superseded). Nothing to send; never re-send an old one.
  if (stages && !stages.includes(AWSPENDING)) return answer(report);

  // A pending version of another attempt (another key, whose lease has expired) may be what the
  // provider holds now: finish it before anything else, so stored and provider converge.
  const stale = versionWithStage(secret, AWSPENDING);
  if (stale !== undefined && stale !== versionId) {
    await rollForward(deps, client, secretName, secret, stale, request.deadline);
    secret = (await deps.secrets.describe(secretName)) ?? secret;
    await client.assertReady();
  }

  let password: string;
  if (stages) {
    // Our pending version from an earlier attempt: re-send exactly that password.
    const stored = await deps.secrets.read(secretName, versionId);
    if (!stored.password)
      throw new ResetError('SECRET_STORE_FAILED', 'The pending secret version holds no password');
    password = stored.password;
    if (envelope.password !== undefined && envelope.password !== password) {
      throw validationFailed([
        { field: 'idempotencyKey', rule: 'was already used for a rotation with a different password' },
      ]);
    }
  } else {
    password = envelope.password ?? generatePassword(provider.passwordPolicy);
    await deps.secrets.putPending(secretName, versionId, {
      password,
      ...(facts.username === undefined ? {} : { username: facts.username }),
      provider: provider.id,
      region: envelope.region,
      clusterId: envelope.clusterId,
      rotatedAt: new Date().toISOString(),
    });
  }

  const outcome = await client.reset(password);
  await deps.secrets.promote(secretName, versionId, versionWithStage(secret, AWSCURRENT));
  const clusterState = await client.awaitSettled(request.deadline);
  return answer(report, withDefined({ providerRequestId: outcome.providerRequestId, clusterState }));
};

/** Re-sends a pending password left by an earlier attempt and makes it AWSCURRENT. */
const rollForward = async (
  deps: RotationDeps,
  client: ProviderClient,
  secretName: string,
  secret: SecretState,
  pendingVersionId: string,
  deadline: number,
): Promise<void> => {
  const stored = await deps.secrets.read(secretName, pendingVersionId);
  if (!stored.password) return;
  logger.info('rolling forward a pending password left by an earlier attempt', {
    versionId: pendingVersionId,
  });
  await client.assertReady();
  await client.reset(stored.password);
  await deps.secrets.promote(secretName, pendingVersionId, versionWithStage(secret, AWSCURRENT));
  // The cluster applies the change before it takes the next one.
  await client.awaitSettled(deadline);
};

/** A supplied password the caller asked us not to store: reset only, under the same lease. */
const resetUnstored = async <C>(
  request: RotationRequest<C>,
  client: ProviderClient,
  answer: Answer,
): Promise<SuccessResult> => {
  const password = request.envelope.password as string;
  await client.assertReady();
  const outcome = await client.reset(password);
  const clusterState = await client.awaitSettled(request.deadline);
  return answer(
    { source: 'supplied', stored: false },
    withDefined({ providerRequestId: outcome.providerRequestId, clusterState }),
  );
};

const withDefined = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
