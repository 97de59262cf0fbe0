import { Logger } from '@aws-lambda-powertools/logger';
import { redactingReplacer } from './redact.ts';

// One structured logger for the whole function. The replacer is a second line of defence: code
// never logs a password or a key, and if a field with such a name is ever logged it is masked.
export const logger = new Logger({
  serviceName: 'cluster-password-reset',
  jsonReplacerFn: redactingReplacer,
});
