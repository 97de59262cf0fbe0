import type { Config } from '../config.ts';
import { type Envelope, envelopeSchema, parseEnvelope } from '../envelope.ts';
import { type FieldIssue, ResetError, validationFailed } from '../errors.ts';
import { passwordViolations } from '../password/policy.ts';
import type { ProviderDefinition } from '../providers/types.ts';
import { type InvocationMode, type ResetMiddleware, ResetRequest } from './invocation.ts';

export interface ValidateOptions<C> {
  provider: ProviderDefinition<C>;
  config: Config;
}

const modeRules = (mode: InvocationMode, envelope: Envelope): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  if (mode !== 'http' && envelope.password !== undefined) {
    issues.push({
      field: 'password',
      rule: 'must not be sent in an EventBridge event or a Step Functions input (AWS keeps those in plain text); leave it out and a password is generated',
    });
  }
  if (!envelope.storePassword && envelope.password === undefined) {
    issues.push({
      field: 'storePassword',
      rule: 'may be false only with a supplied password: a generated password is always stored',
    });
  }
  return issues;
};

// In rotation mode the envelope's fields are the secret's tags: name them as the operator sees them.
const TAG_OF_FIELD: Record<string, string> = {
  region: 'SecretId.tags.region',
  clusterId: 'SecretId.tags.cluster-id',
  projectId: 'SecretId.tags.project-id',
  account: 'SecretId.tags.account',
  secretId: 'SecretId',
};

const fromSecretTags = (parse: () => Envelope): Envelope => {
  try {
    return parse();
  } catch (error) {
    if (error instanceof ResetError && error.fields) {
      throw validationFailed(
        error.fields.map(({ field, rule }) => ({ field: TAG_OF_FIELD[field] ?? field, rule })),
      );
    }
    throw error;
  }
};

/**
 * Validates the envelope with the provider's zod schema, then the rules that depend on the
 * invocation mode, then a supplied password against the provider's policy. Nothing after this
 * middleware sees an unvalidated field.
 */
export const validate = <C>(options: ValidateOptions<C>): ResetMiddleware => {
  const schema = envelopeSchema(options.provider, options.config);
  return {
    before: (request) => {
      const mode = request.internal.mode ?? 'direct';
      const envelope =
        mode === 'rotation'
          ? fromSecretTags(() => parseEnvelope(schema, request.internal.input))
          : parseEnvelope(schema, request.internal.input);
      const issues = modeRules(mode, envelope);
      if (issues.length > 0) throw validationFailed(issues);
      if (envelope.password !== undefined) {
        const rules = passwordViolations(options.provider.passwordPolicy, envelope.password);
        if (rules.length > 0) {
          throw new ResetError(
            'PASSWORD_POLICY_VIOLATION',
            `The password breaks the ${options.provider.id} password rule: ${rules.join('; ')}`,
            { fields: rules.map((rule) => ({ field: 'password', rule })) },
          );
        }
      }
      request.internal.envelope = envelope;
      request.event = new ResetRequest(mode, envelope, request.internal.rotation);
    },
  };
};
