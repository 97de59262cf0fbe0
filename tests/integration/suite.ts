import { afterAll, beforeAll } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { eventBridgeEvent, lambdaContext } from '../support/events.ts';
import { recordText, trackSecret } from '../support/leak-scan.ts';
import {
  CREDENTIALS_PREFIX,
  huaweicloudHarness,
  ncloudHarness,
  otcHarness,
  type ProviderHarness,
  STAGE,
} from './harness.ts';

// Shared set-up of the integration suites: a sandbox, the environment that points the unchanged
// handlers at it, the handlers of every provider, credentials per account, and a capture of
// everything the handlers write (kept out of the test output, scanned for secrets).

export type Handler = (event: unknown, context: unknown) => Promise<unknown>;

export interface Suite {
  sandbox: Sandbox;
  harnesses: ProviderHarness[];
  harness(id: string): ProviderHarness;
  handler(id: string): Handler;
  /** Every password, key and credential value the suite used. */
  secretsUsed: Set<string>;
  /** Every chunk the handlers wrote to stdout and stderr. */
  output: string[];
  /** Adds a running cluster with a fresh id and a known password. */
  cluster(id: string, options?: { busy?: boolean }): { id: string; initialPassword: string };
  /** The handlers' SECRET_PREFIX, as they read it from the suite's environment. */
  secretPrefix: string;
  /** The default secret name of a cluster in the provider's harness region. */
  secretName(providerId: string, clusterId: string): string;
}

export interface SuiteOptions {
  /** Environment of the handlers, over the suite's defaults (read when the handlers load). */
  env?: Record<string, string>;
  /** How long a simulated cluster stays busy after a reset. */
  changingMs?: number;
}

export const useSuite = (options: SuiteOptions = {}): Suite => {
  const streams = [process.stdout, process.stderr];
  const originalWrites = streams.map((stream) => stream.write);
  const handlers = new Map<string, Handler>();
  const suite = { harnesses: [], secretsUsed: new Set<string>(), output: [] } as unknown as Suite;
  suite.harness = (id) => suite.harnesses.find((h) => h.id === id) as ProviderHarness;
  // Every answer, and every error a handler throws, goes to the run's leak scan too.
  suite.handler = (id) => async (event, context) => {
    try {
      const answer = await (handlers.get(id) as Handler)(event, context);
      recordText(`${JSON.stringify(answer)}\n`);
      return answer;
    } catch (error) {
      recordText(`${(error as Error).name}: ${(error as Error).message}\n`);
      throw error;
    }
  };
  suite.secretName = (providerId, clusterId) =>
    `${suite.secretPrefix}/${providerId}/${suite.harness(providerId).region}/${clusterId}`;
  suite.cluster = (providerId, options = {}) => {
    const harness = suite.harness(providerId);
    const id = harness.newClusterId();
    const initialPassword = `Initial-${id.slice(-4)}a!`;
    suite.secretsUsed.add(initialPassword);
    harness.addCluster(id, { password: initialPassword, ...options });
    return { id, initialPassword };
  };

  beforeAll(async () => {
    const changingMs = options.changingMs ?? 50;
    const sandbox = await startSandbox({
      ncloudChangingMs: changingMs,
      otcChangingMs: changingMs,
      huaweicloudChangingMs: changingMs,
    });
    suite.sandbox = sandbox;
    Object.assign(process.env, sandbox.env, {
      STAGE,
      CREDENTIALS_PREFIX,
      PROVIDER_TIMEOUT_MS: '800',
      STATE_POLL_INTERVAL_MS: '20',
      // Short leases, so that tests can wait out the expiry of a lease nobody released.
      LEASE_SECONDS: '1',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      ...options.env,
    });
    // Secret names follow whatever prefix the handlers will read, so a suite may override it.
    suite.secretPrefix = readConfig().secretPrefix;
    // Powertools writes warnings and errors to stderr: capture both streams.
    for (const stream of streams) {
      stream.write = ((chunk: string | Uint8Array) => {
        suite.output.push(String(chunk));
        recordText(String(chunk));
        return true;
      }) as typeof stream.write;
    }
    suite.harnesses.push(ncloudHarness(sandbox), otcHarness(sandbox), huaweicloudHarness(sandbox));
    for (const harness of suite.harnesses) {
      handlers.set(harness.id, await harness.loadHandler());
      for (const [account, secretKey] of [
        ['default', `${harness.id}-secret-key-default`],
        ['wrongkey', `${harness.id}-secret-key-wrong`],
      ] as const) {
        const value = harness.registerKeys(`${harness.id}-AK-${account}`, `${harness.id}-secret-key-default`);
        // `wrongkey` holds an access key the provider knows, with a secret key it does not.
        value.secretKey = secretKey;
        suite.secretsUsed.add(secretKey);
        sandbox.aws.putParameter({
          Name: `${CREDENTIALS_PREFIX}/${harness.credentialsFolder}/${account}`,
          Type: 'SecureString',
          Value: JSON.stringify(value),
          Overwrite: true,
        });
      }
      sandbox.aws.putParameter({
        Name: `${CREDENTIALS_PREFIX}/${harness.credentialsFolder}/broken`,
        Type: 'SecureString',
        Value: 'not-json-credential-value',
      });
      suite.secretsUsed.add('not-json-credential-value');
    }
  });

  afterAll(async () => {
    trackSecret(...suite.secretsUsed, ...(suite.sandbox?.secretMaterial() ?? []));
    streams.forEach((stream, i) => {
      stream.write = originalWrites[i] as typeof stream.write;
    });
    await suite.sandbox?.close();
  });

  return suite;
};

/** Writes past the capture, for figures a suite prints. */
export const report = (line: string): void => {
  process.stdout.constructor.prototype.write.call(process.stdout, `${line}\n`);
};

/** Every captured line that contains a secret the suite used. */
export const leakedLines = (suite: Suite): { lines: string[]; leaks: string[] } => {
  const lines = suite.output.join('').split('\n').filter(Boolean);
  const leaks = [...suite.secretsUsed].filter((secret) => lines.some((line) => line.includes(secret)));
  return { lines, leaks };
};

export type Mode = 'http' | 'eventbridge' | 'direct';

/**
 * Invokes a handler as API Gateway, an EventBridge rule or a Step Functions Task would, with one
 * envelope; answers the normalized result, or the thrown error's name and message.
 */
export const invokeInMode = async (
  handler: Handler,
  mode: Mode,
  request: {
    envelope: Record<string, unknown>;
    /** The API Gateway event for a body and headers (region and cluster are in its path). */
    httpEvent(body: Record<string, unknown>, headers: Record<string, string>): unknown;
  },
): Promise<any> => {
  if (mode === 'http') {
    const { provider: _, region: __, clusterId: ___, idempotencyKey, ...body } = request.envelope;
    const headers: Record<string, string> = idempotencyKey
      ? { 'Idempotency-Key': String(idempotencyKey) }
      : {};
    const answer = (await handler(request.httpEvent(body, headers), lambdaContext())) as { body: string };
    return JSON.parse(answer.body);
  }
  try {
    const event = mode === 'eventbridge' ? eventBridgeEvent(request.envelope) : request.envelope;
    return await handler(event, lambdaContext());
  } catch (error) {
    return { thrown: (error as Error).name, message: (error as Error).message };
  }
};
