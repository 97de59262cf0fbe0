import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.ts';
import type { Envelope } from '../envelope.ts';
import { logger } from '../logger.ts';
import type { ProviderClient, ProviderDefinition, Target } from '../providers/types.ts';
import type { PasswordReport, SuccessResult } from '../result.ts';
import { Bindings } from './binding.ts';
import type { RequestFingerprints } from './fingerprint.ts';
import { KeyRecords } from './key-record.ts';
import { type LeaseEntry, type LeaseHolding, Leases, leaseKeyOf } from './lease.ts';
import { RecordTable } from './record-table.ts';
import type { SecretStore } from './secret-store.ts';
import { VersionRecords } from './version-record.ts';

// What one rotation knows while it runs, whichever way it was asked for: the request, the provider
// client, the records, and the lease it holds.

/** The records a rotation keeps in the lease table, one module per kind. */
export interface RotationRecords {
  leases: Leases;
  keys: KeyRecords;
  versions: VersionRecords;
  bindings: Bindings;
}

export const rotationRecords = (
  client: DynamoDBClient,
  tableName: string,
  leaseSeconds: number,
): RotationRecords => {
  const table = new RecordTable(client, tableName);
  return {
    leases: new Leases(table, leaseSeconds),
    keys: new KeyRecords(table),
    versions: new VersionRecords(table),
    bindings: new Bindings(table),
  };
};

export interface RotationDeps {
  secrets: SecretStore;
  records: RotationRecords;
  fingerprints: RequestFingerprints;
  config: Config;
}

export interface RotationRequest<C = unknown> {
  provider: ProviderDefinition<C>;
  envelope: Envelope & { idempotencyKey: string };
  credentials: C;
  requestId: string;
  /** Epoch ms by which the rotation must have answered (the Lambda deadline less a reserve). */
  deadline: number;
  /** Epoch ms at which Lambda ends this invocation: after it, the invocation is surely gone. */
  invocationDeadline: number;
}

/** The request's cluster, its provider client, and how a success is answered. */
export interface Prepared<C = unknown> {
  deps: RotationDeps;
  request: RotationRequest<C>;
  target: Target;
  client: ProviderClient;
  answer(password: PasswordReport, extra?: Partial<SuccessResult>): SuccessResult;
}

export interface Rotation<C = unknown> extends Prepared<C> {
  secretName: string;
  /** The version this rotation stores and sends (for an unstored reset, only its records' name). */
  versionId: string;
  lease: LeaseHolding;
  /** How the lease was found: a lease in doubt stays so until it expires, whatever happens now. */
  entry: LeaseEntry;
  /** The idempotency key's record, where a caller asked under a key (not a native rotation). */
  key?: { record: string; fingerprint: string };
}

const targetOf = <C>(request: RotationRequest<C>): Target => {
  const { provider, envelope, credentials } = request;
  const base: Target = { provider: provider.id, region: envelope.region, clusterId: envelope.clusterId };
  if (envelope.projectId !== undefined) base.projectId = envelope.projectId;
  return provider.completeTarget ? provider.completeTarget(base, credentials) : base;
};

export const prepare = <C>(deps: RotationDeps, request: RotationRequest<C>): Prepared<C> => {
  const target = targetOf(request);
  const client = request.provider.createClient({
    credentials: request.credentials,
    target,
    config: deps.config,
    deadline: request.deadline,
  });
  const answer = (password: PasswordReport, extra: Partial<SuccessResult> = {}): SuccessResult => ({
    ok: true,
    provider: request.provider.id,
    operation: request.provider.operation,
    region: target.region,
    clusterId: target.clusterId,
    dryRun: request.envelope.dryRun,
    password,
    ...extra,
    requestId: request.requestId,
    idempotencyKey: request.envelope.idempotencyKey,
    completedAt: new Date().toISOString(),
  });
  return { deps, request, target, client, answer };
};

/**
 * Takes the cluster's lease for the rotation of `versionId`, runs `body`, and leaves the lease:
 * released when nothing is in doubt, else kept until it expires. `handOver` passes it on to the
 * next step of a native rotation instead.
 */
export const withLease = async <C, T>(
  prepared: Prepared<C>,
  rotation: Pick<Rotation<C>, 'secretName' | 'versionId' | 'key'>,
  body: (rotation: Rotation<C>) => Promise<{ result: T; handOver?: boolean }>,
): Promise<T> => {
  const { deps, request, target } = prepared;
  const lease: LeaseHolding = {
    key: leaseKeyOf(target),
    owner: rotation.versionId,
    holder: `${request.requestId}/${randomUUID()}`,
    holderDeadline: request.invocationDeadline,
  };
  const entry = await deps.records.leases.acquire(lease);
  const running: Rotation<C> = { ...prepared, ...rotation, lease, entry };
  let outcome: { result: T; handOver?: boolean };
  try {
    outcome = await body(running);
  } catch (error) {
    await deps.records.leases.leave(lease).catch(logAfterAnswer('leave the lease'));
    throw error;
  }
  await (outcome.handOver
    ? deps.records.leases.handOver(lease).catch(logAfterAnswer('hand the lease to the next step'))
    : deps.records.leases.leave(lease).catch(logAfterAnswer('leave the lease')));
  return outcome.result;
};

/** A write after the answer is known: its failure changes the answer of nobody, so it is logged. */
export const logAfterAnswer = (step: string) => (error: unknown) => {
  logger.warn(`could not ${step}`, { errorName: error instanceof Error ? error.name : 'unknown' });
};
