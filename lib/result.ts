import type { ErrorReport } from './errors.ts';
import type { ClusterState, PreparedRequest, ProviderId } from './providers/types.ts';

// The normalized result: the same object whichever way the handler was invoked.

// lib/rotation still imports ErrorReport from here; errors.ts owns it, so that errors.ts needs nothing
// of this module.
export type { ErrorReport };

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
}

export interface FailureResult extends ResultBase {
  ok: false;
  error: ErrorReport;
}

export type NormalizedResult = SuccessResult | FailureResult;
