import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { definedOnly } from '../defined.ts';
import type { RotationHistory } from '../history.ts';
import { logger } from '../logger.ts';
import type { NormalizedResult } from '../result.ts';
import { attemptOutcome, type ResetInternal, type ResetMiddleware } from './invocation.ts';
import { REQUEST_SOURCE } from './normalize-event.ts';

const SUCCEEDED_DETAIL_TYPE = 'Cluster Password Reset Succeeded';
const FAILED_DETAIL_TYPE = 'Cluster Password Reset Failed';

/**
 * An outcome event's detail: the normalized result; the stage; who asked (caller.ts) and whether
 * that is a verified identity or only a claim; and for a Secrets Manager rotation, the secret it
 * named (a name, never a value).
 */
export type OutcomeDetail = NormalizedResult & {
  stage: string;
  caller?: string;
  callerVerified?: boolean;
  secretId?: string;
};

export interface PublishOutcomeOptions {
  client: EventBridgeClient;
  eventBusName: string;
  /** The stage the function belongs to: one bus may hear several stages. */
  stage: string;
  /** The stage's rotation history (lib/history.ts): each attempt is also kept there. */
  history?: RotationHistory;
}

/**
 * Puts "Cluster Password Reset Succeeded/Failed" on the bus after every real attempt, with the
 * normalized result (which never holds a password), the stage and the caller as detail, and keeps
 * the attempt in the stage's rotation history when it has one. Dry runs, requests
 * refused by validation, ROTATION_IN_PROGRESS refusals and replays from a key's record are not
 * attempts. A failure to publish is logged and changes nothing: the password was reset (or not)
 * either way.
 */
export const publishOutcome = (options: PublishOutcomeOptions): ResetMiddleware => {
  const publish = async (result: NormalizedResult, internal: ResetInternal): Promise<void> => {
    const detail: OutcomeDetail = {
      ...result,
      stage: options.stage,
      ...definedOnly({
        caller: internal.caller,
        callerVerified: internal.callerVerified,
        secretId: internal.mode === 'rotation' ? internal.rotation?.secretId : undefined,
      }),
    };
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
    return result ? publish(result, request.internal) : Promise.resolve();
  };
  return { after: publishAttempt, onError: publishAttempt };
};
