import type { ErrorReport } from './errors.ts';
import type { ClusterState, PreparedRequest, ProviderId } from './providers/types.ts';

// The normalized result: the same object whichever way the handler was invoked.

export interface PasswordReport {
  source: 'generated' | 'supplied';
  stored: boolean;
  secretArn?: string;
  versionId?: string;
}

interface ResultBase {
  provider: ProviderId;
  operation: string;
  region?: string;
  clusterId?: string;
  dryRun: boolean;
  requestId: string;
  idempotencyKey?: string;
  completedAt: string;
}

export interface SuccessResult extends ResultBase {
  ok: true;
  password: PasswordReport;
  providerRequestId?: string;
  /**
   * The cluster's state when we stopped waiting for it to settle after the reset, in the same words
   * for every provider; absent when no state query answered.
   */
  clusterState?: ClusterState;
  /** Dry run only: the request that would have been sent (signed, not sent; no secret in it). */
  request?: PreparedRequest;
  /** Dry run only: what the preflight checked, read-only, and found. */
  preflight?: Preflight;
}

/** What a dry run checked before answering, as a real run checks it first; nothing is written. */
export interface Preflight {
  /** The key is new, or already bound to this very request (another request's key is refused). */
  idempotencyKey: 'unused' | 'bound-to-this-request';
  /** The provider's read-only state call found the cluster ready to take a reset. */
  cluster: 'ready';
  /** The cluster's secret exists (and is this cluster's), will be created, or is not used. */
  secret: 'exists' | 'to-be-created' | 'not-used';
}

export interface FailureResult extends ResultBase {
  ok: false;
  error: ErrorReport;
}

export type NormalizedResult = SuccessResult | FailureResult;
