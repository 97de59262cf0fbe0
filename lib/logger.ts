import { Logger } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import { redactingReplacer } from './redact.ts';

/**
 * Powertools' Logger that never logs an invocation's event, whatever asks it to: Powertools logs the
 * whole event ("Lambda invocation event") when `POWERTOOLS_LOGGER_LOG_EVENT` is `true` or a
 * middleware passes `logEvent: true`, and an event holds what the caller sent (an HTTP body with
 * its password, as a string no key-based redaction can see into). The code logs identifiers only.
 */
class EventlessLogger extends Logger {
  override shouldLogEvent(_overwriteValue?: boolean): boolean {
    return false;
  }

  override logEventIfEnabled(_event: unknown, _overwriteValue?: boolean): void {}

  protected override createLogger(options?: ConstructorOptions): Logger {
    return new EventlessLogger(options);
  }
}

// One structured logger for the whole function. The replacer is a second line of defence: code
// never logs a password or a key, and if a field with such a name is ever logged it is masked.
export const logger: Logger = new EventlessLogger({
  serviceName: 'cluster-password-reset',
  jsonReplacerFn: redactingReplacer,
});
