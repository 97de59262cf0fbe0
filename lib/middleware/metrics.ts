import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { logger } from '../logger.ts';
import type { ProviderClient, ProviderDefinition, ProviderId } from '../providers/types.ts';
import type { ResetMiddleware } from './invocation.ts';
import { attemptOutcome } from './publish-outcome.ts';

// CloudWatch metrics in the Embedded Metric Format: one JSON line on stdout per invocation that
// has something to say, which CloudWatch Logs turns into metrics. No API call, nothing to wait for.

export const METRICS_NAMESPACE = 'ClusterPasswordReset';
export const ROTATION_SUCCEEDED = 'RotationSucceeded';
export const ROTATION_FAILED = 'RotationFailed';
export const PROVIDER_LATENCY = 'ProviderLatency';

/** Provider reset times of an invocation, by its Lambda context, until the middleware emits them. */
const latencies = new WeakMap<Context, number[]>();

const recordLatency = (context: Context, ms: number): void => {
  const samples = latencies.get(context);
  if (samples) samples.push(ms);
  else latencies.set(context, [ms]);
};

/**
 * The provider as the rotation sees it, except that each `reset` call is timed for this
 * invocation's `ProviderLatency` (refusals and timeouts too: they are the provider's answer time).
 */
export const timedProvider = <C>(
  provider: ProviderDefinition<C>,
  context: Context,
): ProviderDefinition<C> => ({
  ...provider,
  createClient: (options) => {
    const client = provider.createClient(options);
    const timed: ProviderClient = {
      assertReady: () => client.assertReady(),
      prepareReset: (password) => client.prepareReset(password),
      reset: async (password) => {
        const started = performance.now();
        try {
          return await client.reset(password);
        } finally {
          recordLatency(context, performance.now() - started);
        }
      },
      awaitSettled: (deadline) => client.awaitSettled(deadline),
    };
    return timed;
  },
});

export interface RotationMetricsOptions {
  provider: ProviderId;
  stage: string;
  /** For tests; by default one instance per function, namespace and service from the environment. */
  metrics?: Metrics;
}

/**
 * After every real attempt (the rule of the outcome events: no dry run, validation refusal,
 * ROTATION_IN_PROGRESS or replay), `RotationSucceeded` or `RotationFailed` (Count), dimensions
 * `service`, `stage`, `provider`; a failure is counted again with `errorCode` added, in a document
 * of its own (EMF gives all metrics of a document the same dimensions). `ProviderLatency`
 * (Milliseconds) for each reset sent to the provider, whatever the invocation (a Secrets Manager
 * rotation sends it in `setSecret`, and counts its success in `finishSecret`).
 *
 * Recorded and flushed in one synchronous step once normalize-response has built the outcome, on
 * success and on error alike, so that invocations sharing a process never mix their buffers. Not
 * Powertools' `logMetrics`: that flushes unconditionally, and so warns "No application metrics to
 * publish" on every dry run and refusal. A failure to emit is logged and changes nothing.
 */
export const rotationMetrics = (options: RotationMetricsOptions): ResetMiddleware => {
  // Made when first needed: a dry run or a refusal has nothing to emit (a cold start's cost).
  let made: Metrics | undefined = options.metrics;
  const metricsOf = (): Metrics => {
    if (!made) {
      made = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE });
      // A function serves one provider: its dimensions are the same for every invocation.
      made.setDefaultDimensions({ stage: options.stage, provider: options.provider });
    }
    return made;
  };
  if (made) made.setDefaultDimensions({ stage: options.stage, provider: options.provider });
  const emit = (request: Parameters<NonNullable<ResetMiddleware['after']>>[0]): void => {
    const samples = latencies.get(request.context) ?? [];
    latencies.delete(request.context);
    let metrics: Metrics | undefined;
    try {
      const result = attemptOutcome(request);
      if (!result && samples.length === 0) return;
      metrics = metricsOf();
      if (result) metrics.addMetric(result.ok ? ROTATION_SUCCEEDED : ROTATION_FAILED, MetricUnit.Count, 1);
      for (const ms of samples) metrics.addMetric(PROVIDER_LATENCY, MetricUnit.Milliseconds, Math.round(ms));
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      if (result && !result.ok) {
        const byCode = metrics.singleMetric();
        byCode.addDimension('errorCode', result.error.code);
        byCode.addMetric(ROTATION_FAILED, MetricUnit.Count, 1);
      }
    } catch (error) {
      metrics?.clearMetrics();
      metrics?.clearDimensions();
      logger.warn('metrics not emitted', { errorName: error instanceof Error ? error.name : 'unknown' });
    }
  };
  return { after: emit, onError: emit };
};
