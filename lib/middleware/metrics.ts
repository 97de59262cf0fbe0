import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { ErrorCode } from '../errors.ts';
import { logger } from '../logger.ts';
import type { ProviderClient, ProviderDefinition, ProviderId } from '../providers/types.ts';
import { attemptOutcome, type ResetInternal, type ResetMiddleware } from './invocation.ts';

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

/** The dimension of the failure documents that names the invocation mode (`rotation`: Secrets Manager's). */
export const INVOCATION_DIMENSION = 'invocation';

/**
 * The error code of a failed invocation, or undefined when it succeeded: the normalized result's,
 * or INTERNAL when the invocation failed before any result was built (a middleware of its own
 * failed), so that no failure goes uncounted.
 */
const failureCode = (request: { internal: ResetInternal; error?: unknown }): ErrorCode | undefined => {
  const result = request.internal.outcome;
  if (result) return result.ok ? undefined : result.error.code;
  return request.error === undefined || request.error === null ? undefined : 'INTERNAL';
};

/**
 * `RotationFailed` (Count) for every failed invocation, whatever failed and however early: a
 * refusal by validation, a malformed event, a Secrets Manager rotation refused before its secret
 * was understood, a replay of a failure, `ROTATION_IN_PROGRESS` (DESIGN rule 11: every failure is
 * seen). Three documents, since EMF gives every metric of a document the same dimension sets:
 * `service`, `stage`, `provider`; the same with `errorCode`; the same with `invocation` (http,
 * eventbridge, direct, rotation), on which the failed-native-rotation alarms watch.
 *
 * `RotationSucceeded` (Count) only after a real attempt (the rule of the outcome events: no dry
 * run, no replay; of a Secrets Manager rotation, its `finishSecret`). `ProviderLatency`
 * (Milliseconds) for each reset sent to the provider, whatever the invocation (a Secrets Manager
 * rotation sends it in `setSecret`).
 *
 * Recorded and flushed in one synchronous step once normalize-response has built the outcome, on
 * success and on error alike, so that invocations sharing a process never mix their buffers. Not
 * Powertools' `logMetrics`: that flushes unconditionally, and so warns "No application metrics to
 * publish" on every dry run. A failure to emit is logged and changes nothing.
 */
export const rotationMetrics = (options: RotationMetricsOptions): ResetMiddleware => {
  // Made when first needed: a dry run has nothing to emit (a cold start's cost).
  let made: Metrics | undefined = options.metrics;
  const metricsOf = (): Metrics => {
    if (!made)
      made = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE });
    return made;
  };
  // A function serves one provider: its dimensions are the same for every invocation.
  if (made) made.setDefaultDimensions({ stage: options.stage, provider: options.provider });
  const countFailure = (metrics: Metrics, dimension: string, value: string): void => {
    const single = metrics.singleMetric();
    single.addDimension(dimension, value);
    single.addMetric(ROTATION_FAILED, MetricUnit.Count, 1);
  };
  const emit = (request: Parameters<NonNullable<ResetMiddleware['after']>>[0]): void => {
    const samples = latencies.get(request.context) ?? [];
    latencies.delete(request.context);
    let metrics: Metrics | undefined;
    try {
      const code = failureCode(request);
      const succeeded = code === undefined && attemptOutcome(request) !== undefined;
      if (code === undefined && !succeeded && samples.length === 0) return;
      const firstUse = made === undefined;
      metrics = metricsOf();
      if (firstUse) metrics.setDefaultDimensions({ stage: options.stage, provider: options.provider });
      if (code !== undefined) metrics.addMetric(ROTATION_FAILED, MetricUnit.Count, 1);
      else if (succeeded) metrics.addMetric(ROTATION_SUCCEEDED, MetricUnit.Count, 1);
      for (const ms of samples) metrics.addMetric(PROVIDER_LATENCY, MetricUnit.Milliseconds, Math.round(ms));
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      if (code !== undefined) {
        countFailure(metrics, 'errorCode', code);
        countFailure(metrics, INVOCATION_DIMENSION, request.internal.mode ?? 'direct');
      }
    } catch (error) {
      metrics?.clearMetrics();
      metrics?.clearDimensions();
      logger.warn('metrics not emitted', { errorName: error instanceof Error ? error.name : 'unknown' });
    }
  };
  return { after: emit, onError: emit };
};
