import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { RotationHistory } from '../history.ts';
import { logger } from '../logger.ts';
import type { NormalizedResult } from '../result.ts';
import type { ResetInternal, ResetMiddleware } from './invocation.ts';
import { REQUEST_SOURCE } from './normalize-event.ts';
import { outcomeOf, wasAttempt } from './normalize-response.ts';

const SUCCEEDED_DETAIL_TYPE = 'Cluster Password Reset Succeeded';
const FAILED_DETAIL_TYPE = 'Cluster Password Reset Failed';

/**
 * The outcome of this invocation if it was a real attempt, else undefined: not a dry run, not a
 * request refused before it had a target, not a ROTATION_IN_PROGRESS refusal, not a replay. The
 * rule of the outcome events, and of the rotation metrics (metrics.ts).
 */
export const attemptOutcome = (request: { internal: ResetInternal }): NormalizedResult | undefined => {
  if (!wasAttempt(request)) return undefined;
  const result = outcomeOf(request);
  if (!result || result.dryRun || result.clusterId === undefined) return undefined;
  return result;
};

/** An outcome event's detail: the normalized result, and who asked (caller.ts). */
export type OutcomeDetail = NormalizedResult & { caller?: string };

export interface PublishOutcomeOptions {
  client: EventBridgeClient;
  eventBusName: string;
  /** The stage's rotation history (lib/history.ts): each attempt is also kept there. */
  history?: RotationHistory;
}

/**
 * Puts "Cluster Password Reset Succeeded/Failed" on the bus after every real attempt, with the
 * normalized result (which never holds a password) and the caller as detail, and keeps the attempt
 * in the stage's rotation history when it has one. Dry runs, requests
 * refused by validation, ROTATION_IN_PROGRESS refusals and replays from a key's record are not
 * attempts. A failure to publish is logged and changes nothing: the password was reset (or not)
 * either way.
 */
export const publishOutcome = (options: PublishOutcomeOptions): ResetMiddleware => {
  const publish = async (result: NormalizedResult, caller: string | undefined): Promise<void> => {
    const detail: OutcomeDetail = caller === undefined ? result : { ...result, caller };
    await Promise.all([putEvent(detail, result), options.history?.record(detail)]);
  };
  const putEvent = async (detail: OutcomeDetail, result: NormalizedResult): Promise<void> => {
    try {
      const answer = await options.client.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: REQUEST_SOURCE,
              DetailType: result.ok ? SUCCEEDED_DETAIL_TYPE : FAILED_DETAIL_TYPE,
              Detail: JSON.stringify(detail),
              EventBusName: options.eventBusName,
            },
          ],
        }),
      );
      if (answer.FailedEntryCount) {
        logger.warn('outcome event not accepted', { errorCode: answer.Entries?.[0]?.ErrorCode });
      }
    } catch (error) {
      logger.warn('outcome event not published', {
        errorName: error instanceof Error ? error.name : 'unknown',
      });
    }
  };
  const publishAttempt = (request: { internal: ResetInternal }) => {
    const result = attemptOutcome(request);
    return result ? publish(result, request.internal.caller) : Promise.resolve();
  };
  return { after: publishAttempt, onError: publishAttempt };
};
