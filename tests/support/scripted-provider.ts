import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../../lib/config.ts';
import { ncloudCdss } from '../../lib/providers/ncloud/index.ts';
import type {
  ClusterFacts,
  ClusterState,
  ProviderClient,
  ProviderDefinition,
} from '../../lib/providers/types.ts';
import { type RotationDeps, rotationRecords } from '../../lib/rotation/context.ts';
import { RequestFingerprints } from '../../lib/rotation/fingerprint.ts';
import { SecretStore } from '../../lib/rotation/secret-store.ts';

// The rotation's unit tests drive a provider by a script and read back what it was asked, in the
// order it was asked, beside the AWS calls (which aws-sdk-client-mock answers).

export interface ProviderScript {
  /** Every call, AWS and provider, in order; the provider's are `provider:<method>`. */
  log: string[];
  /** Each password the provider was sent, in order. */
  sentPasswords: string[];
  /** Thrown by the next reset (a ResetError is a refusal, anything else an unknown outcome). */
  resetFails?: unknown;
  readyFails?: unknown;
  facts?: ClusterFacts;
  settled?: ClusterState;
}

/**
 * An ncloud-cdss definition whose client follows the script that `current()` returns at each call,
 * so that a test file may replace the script's fields in its beforeEach.
 */
export const scriptedProvider = (current: () => ProviderScript) => {
  const client: ProviderClient = {
    assertReady: async () => {
      const script = current();
      script.log.push('provider:assertReady');
      if (script.readyFails) throw script.readyFails;
      return script.facts ?? { username: 'cmak-admin' };
    },
    prepareReset: () => {
      current().log.push('provider:prepareReset');
      return { method: 'POST', url: 'https://example/reset', signedHeaders: ['x'] };
    },
    reset: async (password) => {
      const script = current();
      script.log.push('provider:reset');
      script.sentPasswords.push(password);
      if (script.resetFails) throw script.resetFails;
      return { providerRequestId: 'provider-req-1' };
    },
    awaitSettled: async () => {
      const script = current();
      script.log.push('provider:awaitSettled');
      return 'settled' in script ? script.settled : 'ready';
    },
  };
  const provider: ProviderDefinition<unknown> = {
    ...(ncloudCdss as ProviderDefinition<unknown>),
    createClient: () => client,
  };
  return { client, provider };
};

/** The rotation's dependencies on clients that aws-sdk-client-mock intercepts. */
export const mockedRotationDeps = (config: Config): RotationDeps => ({
  secrets: new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' })),
  records: rotationRecords(new DynamoDBClient({ region: 'eu-central-1' }), 'leases', 120),
  fingerprints: new RequestFingerprints(new SecretsManagerClient({ region: 'eu-central-1' }), 'fp-key'),
  config,
});
