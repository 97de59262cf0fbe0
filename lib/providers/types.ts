import type { ZodMiniType } from 'zod/mini';
import type { Config } from '../config.ts';
import type { PasswordPolicy } from '../password/policy.ts';

/** A provider's id, e.g. `otc-css`; the registry (registry.ts) lists them. */
export type ProviderId = string;

/** What the rotation needs to know of the request, after validation. */
export interface Target {
  provider: ProviderId;
  region: string;
  clusterId: string;
  projectId?: string;
}

/** A request built and signed but not sent: what a dry run shows. Never holds a secret. */
export interface PreparedRequest {
  method: string;
  url: string;
  signedHeaders: string[];
}

/** What the state check learnt of the cluster, beside its being ready. */
export interface ClusterFacts {
  /** The account whose password is reset, where the provider names it. */
  username?: string;
}

/**
 * A cluster's state in the same words for every provider: `ready` to take a change, `changing`
 * while an operation runs on it (or in a state we do not know), `error` when it is broken.
 */
export type ClusterState = 'ready' | 'changing' | 'error';

interface ResetOutcome {
  providerRequestId?: string;
}

/**
 * One cluster at one provider, with credentials bound. The rotation talks to providers only
 * through this interface; each method throws a ResetError with the mapped code.
 */
export interface ProviderClient {
  /** Throws CLUSTER_STATE_CONFLICT / PRECONDITION_FAILED / CLUSTER_NOT_FOUND when a reset must not be sent. */
  assertReady(): Promise<ClusterFacts>;
  /** Builds and signs the reset request without sending it. */
  prepareReset(password: string): PreparedRequest;
  reset(password: string): Promise<ResetOutcome>;
  /**
   * After an accepted reset: waits for the cluster to be ready, until `deadline` or the client's
   * own deadline, whichever comes first. Never throws; answers the last state seen, or undefined
   * when no poll answered.
   */
  awaitSettled(deadline: number): Promise<ClusterState | undefined>;
}

export interface ClientOptions<C> {
  credentials: C;
  target: Target;
  config: Config;
  /** Epoch ms by which every provider call must have ended (the Lambda deadline less a reserve). */
  deadline: number;
}

export interface ProviderDefinition<C = unknown> {
  id: ProviderId;
  operation: string;
  /** What its function does, in one sentence: the Lambda function's description. */
  description: string;
  /** Folder of this provider's credentials under CREDENTIALS_PREFIX. */
  credentialsFolder: string;
  /** Regions a request may name; may depend on configuration (e.g. an endpoint override). */
  regions(config: Config): readonly [string, ...string[]];
  /**
   * Reads the provider's own settings from `config.env` (endpoints and their overrides) and throws
   * on a bad one, naming the variable. resetMiddleware calls it when the handler is built, so a
   * misconfigured function does not start.
   */
  checkSettings?(config: Config): void;
  clusterId: ZodMiniType<string>;
  /** The provider's project scope, if a request may name one (`projectId`): its id's rule. */
  projectId?: ZodMiniType<string>;
  credentials: ZodMiniType<C>;
  passwordPolicy: PasswordPolicy;
  /** Fills what the request left out from the credentials (e.g. OTC's project id), or throws VALIDATION_FAILED. */
  completeTarget?(target: Target, credentials: C): Target;
  createClient(options: ClientOptions<C>): ProviderClient;
}
