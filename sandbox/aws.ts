import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OnFailureRecord } from './async-invocation.ts';
import { answerWithFault, FaultQueue, parseJson, readBody, sendJson, waitForFault } from './http-util.ts';

// The subset of SSM Parameter Store, Secrets Manager and EventBridge that the handlers call,
// over the AWS JSON protocol (X-Amz-Target), with the semantics the rotation relies on: a
// secret's first version is AWSCURRENT, a staging label sits on one version at a time, moving
// AWSCURRENT leaves AWSPREVIOUS on the old version, PutSecretValue is idempotent per token.

export const REGION = 'eu-central-1';
export const ACCOUNT = '000000000000';

class AwsError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status = 400) {
    super(message);
    this.type = type;
    this.status = status;
  }
}

interface Parameter {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
}

interface SecretVersion {
  id: string;
  value: string;
  stages: Set<string>;
  created: number;
}

interface Secret {
  arn: string;
  name: string;
  versions: Map<string, SecretVersion>;
  tags: unknown[];
  /** Every version that has ever been AWSCURRENT (for tests: "ok" must mean it was promoted). */
  everCurrent: Set<string>;
}

export interface PublishedEvent {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
}

/** Receives every event put on the bus, in the EventBridge envelope a rule's target gets. */
export type EventListener = (event: Record<string, unknown>) => void;

export interface AwsCall {
  target: string;
  status: number;
}

type Input = Record<string, unknown>;

export class AwsSubsetSimulator {
  readonly parameters = new Map<string, Parameter>();
  readonly secrets = new Map<string, Secret>();
  readonly events: PublishedEvent[] = [];
  readonly calls: AwsCall[] = [];
  /** Faults by X-Amz-Target (e.g. "secretsmanager.PutSecretValue"). */
  readonly faults = new FaultQueue();
  readonly eventListeners: EventListener[] = [];
  /** The stack's dead-letter queue: onFailure records of asynchronous invocations. */
  readonly deadLetters: OnFailureRecord[] = [];

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = (parseJson(await readBody(req)) ?? {}) as Input;
    const fault = this.faults.take(target, undefined);
    if ((await waitForFault(res, fault)) || (fault && answerWithFault(res, fault))) {
      this.calls.push({ target, status: fault?.status ?? 0 });
      return;
    }
    try {
      const output = this.#dispatch(target, input);
      if (fault?.applyThenDrop) {
        // Applied, but the caller never hears of it.
        this.calls.push({ target, status: 0 });
        res.socket?.destroy();
        return;
      }
      this.calls.push({ target, status: 200 });
      sendJson(res, 200, output, { 'content-type': 'application/x-amz-json-1.1' });
    } catch (error) {
      const aws = error instanceof AwsError ? error : new AwsError('InternalFailure', String(error), 500);
      this.calls.push({ target, status: aws.status });
      sendJson(
        res,
        aws.status,
        { __type: aws.type, message: aws.message },
        { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': aws.type },
      );
    }
  }

  #dispatch(target: string, input: Input): unknown {
    switch (target) {
      case 'AmazonSSM.PutParameter':
        return this.putParameter(input);
      case 'AmazonSSM.GetParameter':
        return { Parameter: this.#parameter(String(input.Name)) };
      case 'AmazonSSM.GetParameters': {
        const names = (input.Names as string[]) ?? [];
        return {
          Parameters: names.filter((n) => this.parameters.has(n)).map((n) => this.#parameter(n)),
          InvalidParameters: names.filter((n) => !this.parameters.has(n)),
        };
      }
      case 'secretsmanager.CreateSecret':
        return this.createSecret(input);
      case 'secretsmanager.DescribeSecret':
        return this.#describe(this.#secret(input.SecretId));
      case 'secretsmanager.GetSecretValue':
        return this.#getSecretValue(input);
      case 'secretsmanager.PutSecretValue':
        return this.#putSecretValue(input);
      case 'secretsmanager.UpdateSecretVersionStage':
        return this.#updateStage(input);
      case 'AWSEvents.PutEvents': {
        const entries = (input.Entries as PublishedEvent[]) ?? [];
        this.events.push(...entries);
        const ids = entries.map(() => randomUUID());
        entries.forEach((entry, index) => {
          const event = {
            version: '0',
            id: ids[index],
            'detail-type': entry.DetailType,
            source: entry.Source,
            account: ACCOUNT,
            time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
            region: REGION,
            resources: [],
            detail: parseJson(entry.Detail ?? '{}') ?? {},
          };
          for (const listener of this.eventListeners) listener(event);
        });
        return { FailedEntryCount: 0, Entries: ids.map((EventId) => ({ EventId })) };
      }
      default:
        throw new AwsError('UnknownOperationException', `The sandbox does not implement ${target}`);
    }
  }

  putParameter(input: Input): unknown {
    const name = String(input.Name);
    const existing = this.parameters.get(name);
    if (existing && !input.Overwrite)
      throw new AwsError('ParameterAlreadyExists', 'The parameter already exists.');
    const version = (existing?.Version ?? 0) + 1;
    this.parameters.set(name, {
      Name: name,
      Type: String(input.Type ?? 'String'),
      Value: String(input.Value),
      Version: version,
    });
    return { Version: version, Tier: 'Standard' };
  }

  #parameter(name: string) {
    const parameter = this.parameters.get(name);
    if (!parameter) throw new AwsError('ParameterNotFound', 'Parameter not found.');
    return { ...parameter, ARN: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name}` };
  }

  createSecret(input: Input): unknown {
    const name = String(input.Name);
    if (this.secrets.has(name))
      throw new AwsError('ResourceExistsException', `The secret ${name} already exists.`);
    const arn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-${randomUUID().slice(0, 6)}`;
    const secret: Secret = {
      arn,
      name,
      versions: new Map(),
      tags: (input.Tags as unknown[]) ?? [],
      everCurrent: new Set(),
    };
    this.secrets.set(name, secret);
    if (input.SecretString === undefined) return { ARN: arn, Name: name };
    const id = String(input.ClientRequestToken ?? randomUUID());
    // A secret's first version is AWSCURRENT, whatever was asked.
    secret.everCurrent.add(id);
    secret.versions.set(id, {
      id,
      value: String(input.SecretString),
      stages: new Set(['AWSCURRENT']),
      created: Date.now(),
    });
    return { ARN: arn, Name: name, VersionId: id };
  }

  #secret(secretId: unknown): Secret {
    const id = String(secretId);
    const secret = this.secrets.get(id) ?? [...this.secrets.values()].find((s) => s.arn === id);
    if (!secret)
      throw new AwsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  #describe(secret: Secret) {
    return {
      ARN: secret.arn,
      Name: secret.name,
      Tags: secret.tags,
      VersionIdsToStages: Object.fromEntries(
        [...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]]),
      ),
    };
  }

  #getSecretValue(input: Input) {
    const secret = this.#secret(input.SecretId);
    const stage = input.VersionId === undefined ? String(input.VersionStage ?? 'AWSCURRENT') : undefined;
    const version =
      input.VersionId !== undefined
        ? secret.versions.get(String(input.VersionId))
        : [...secret.versions.values()].find((v) => v.stages.has(stage as string));
    if (!version) {
      throw new AwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value.",
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: [...version.stages],
      CreatedDate: version.created / 1000,
    };
  }

  #moveStage(secret: Secret, stage: string, to: SecretVersion): void {
    for (const version of secret.versions.values()) {
      if (version !== to && version.stages.delete(stage) && stage === 'AWSCURRENT') {
        for (const other of secret.versions.values()) other.stages.delete('AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
    to.stages.add(stage);
    if (stage === 'AWSCURRENT') secret.everCurrent.add(to.id);
  }

  #putSecretValue(input: Input) {
    const secret = this.#secret(input.SecretId);
    const id = String(input.ClientRequestToken ?? randomUUID());
    const value = String(input.SecretString);
    const existing = secret.versions.get(id);
    if (existing) {
      if (existing.value !== value) {
        throw new AwsError(
          'ResourceExistsException',
          'A version with this ClientRequestToken already exists.',
        );
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: [...existing.stages] };
    }
    const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
    const version: SecretVersion = { id, value, stages: new Set(), created: Date.now() };
    secret.versions.set(id, version);
    for (const stage of stages) this.#moveStage(secret, stage, version);
    return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: [...version.stages] };
  }

  #updateStage(input: Input) {
    const secret = this.#secret(input.SecretId);
    const stage = String(input.VersionStage);
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
    const moveTo = input.MoveToVersionId === undefined ? undefined : String(input.MoveToVersionId);
    const removeFrom =
      input.RemoveFromVersionId === undefined ? undefined : String(input.RemoveFromVersionId);
    if (moveTo !== undefined) {
      const to = secret.versions.get(moveTo);
      if (!to)
        throw new AwsError('ResourceNotFoundException', 'The version to move the label to does not exist.');
      if (holder && holder !== to && holder.id !== removeFrom) {
        throw new AwsError(
          'InvalidParameterException',
          `The staging label ${stage} is attached to version ${holder.id}; name it in RemoveFromVersionId.`,
        );
      }
      this.#moveStage(secret, stage, to);
    } else if (removeFrom !== undefined) {
      const from = secret.versions.get(removeFrom);
      if (from?.stages.has(stage)) {
        if (stage === 'AWSCURRENT')
          throw new AwsError('InvalidParameterException', 'AWSCURRENT cannot be removed.');
        from.stages.delete(stage);
      }
    }
    return { ARN: secret.arn, Name: secret.name };
  }

  /** The value of the version labelled `stage`, parsed; for tests and the README's checks. */
  secretValue(name: string, stage = 'AWSCURRENT'): Record<string, unknown> | undefined {
    const version = [...(this.secrets.get(name)?.versions.values() ?? [])].find((v) => v.stages.has(stage));
    return version ? (JSON.parse(version.value) as Record<string, unknown>) : undefined;
  }
}
