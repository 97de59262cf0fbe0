import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OnFailureRecord } from './async-invocation.ts';
import { answerWithFault, FaultQueue, parseJson, readBody, sendJson, waitForFault } from './http-util.ts';
import type { Invoke } from './lambda-invoke.ts';

// The subset of SSM Parameter Store, Secrets Manager and EventBridge that the handlers call,
// over the AWS JSON protocol (X-Amz-Target), with the semantics the rotation relies on: a
// secret's first version is AWSCURRENT, a staging label sits on one version at a time, moving
// AWSCURRENT leaves AWSPREVIOUS on the old version, PutSecretValue is idempotent per token.
// It also plays Secrets Manager's part in native rotation: RotateSecret labels an empty version
// AWSPENDING and invokes the rotation function with each step in turn.

export const REGION = 'eu-central-1';
export const ACCOUNT = '000000000000';

/** A Lambda function's ARN in the sandbox account (the key of `rotationFunctions`). */
export const lambdaFunctionArn = (functionName: string): string =>
  `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}`;

/** The steps Secrets Manager invokes a rotation function with, in this order. */
export const ROTATION_STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** One rotation Secrets Manager started (or re-attempted), as far as it got. */
export interface RotationRecord {
  secretName: string;
  /** The ClientRequestToken: the id of the version the rotation creates. */
  token: string;
  /** The steps invoked, in order; the first that failed is the last. */
  steps: Array<{ step: RotationStep; ok: boolean; errorType?: string }>;
  /** All four steps succeeded. */
  finished: boolean;
}

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
  /** Undefined for a version without a value yet (what RotateSecret labels AWSPENDING). */
  value: string | undefined;
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
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  rotationRules?: unknown;
  /** Epoch ms of the last rotation whose four steps all succeeded. */
  lastRotated?: number;
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
  /** Rotation functions Secrets Manager may invoke, by Lambda function ARN (see lambdaFunctionArn). */
  readonly rotationFunctions = new Map<string, Invoke>();
  /** Every rotation RotateSecret started or re-attempted, oldest first. */
  readonly rotations: RotationRecord[] = [];

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = (parseJson(await readBody(req)) ?? {}) as Input;
    const fault = this.faults.take(target, undefined);
    if ((await waitForFault(res, fault)) || (fault && answerWithFault(res, fault))) {
      this.calls.push({ target, status: fault?.status ?? 0 });
      return;
    }
    try {
      const output = await this.#dispatch(target, input);
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

  async #dispatch(target: string, input: Input): Promise<unknown> {
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
      case 'secretsmanager.ListSecretVersionIds':
        return this.#listVersionIds(input);
      case 'secretsmanager.RotateSecret':
        return await this.#rotateSecret(input);
      case 'secretsmanager.CancelRotateSecret':
        return this.#cancelRotateSecret(input);
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
      rotationEnabled: false,
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
      RotationEnabled: secret.rotationEnabled,
      ...(secret.rotationLambdaArn === undefined ? {} : { RotationLambdaARN: secret.rotationLambdaArn }),
      ...(secret.rotationRules === undefined ? {} : { RotationRules: secret.rotationRules }),
      ...(secret.lastRotated === undefined ? {} : { LastRotatedDate: secret.lastRotated / 1000 }),
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
    if (version.value === undefined) {
      // A version RotateSecret created, before the rotation function's createSecret filled it.
      throw new AwsError(
        'ResourceNotFoundException',
        input.VersionId !== undefined
          ? `Secrets Manager can't find the specified secret value for VersionId: ${version.id}`
          : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
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
    if (existing && existing.value === undefined) {
      // The empty version of a rotation in progress: createSecret fills it.
      existing.value = value;
      const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
      for (const stage of stages) this.#moveStage(secret, stage, existing);
      return { ARN: secret.arn, Name: secret.name, VersionId: id, VersionStages: [...existing.stages] };
    }
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

  #listVersionIds(input: Input) {
    const secret = this.#secret(input.SecretId);
    // One page holds every version; MaxResults and NextToken are accepted and need no paging.
    const versions = [...secret.versions.values()].filter(
      (v) => input.IncludeDeprecated === true || v.stages.size > 0,
    );
    return {
      ARN: secret.arn,
      Name: secret.name,
      Versions: versions.map((v) => ({
        VersionId: v.id,
        VersionStages: [...v.stages],
        CreatedDate: v.created / 1000,
      })),
    };
  }

  /**
   * RotateSecret: configures rotation and, unless RotateImmediately is false, rotates: an empty
   * version labelled AWSPENDING, then the rotation function with each step in turn. Real Secrets
   * Manager answers before the steps run and never tells its caller how they went; the sandbox
   * runs them before answering (so that a test sees the outcome) and answers the same way.
   */
  async #rotateSecret(input: Input) {
    const secret = this.#secret(input.SecretId);
    const functionArn =
      input.RotationLambdaARN === undefined ? secret.rotationLambdaArn : String(input.RotationLambdaARN);
    if (functionArn === undefined) {
      throw new AwsError(
        'InvalidRequestException',
        'No Lambda rotation function ARN is associated with this secret.',
      );
    }
    const invoke = this.rotationFunctions.get(functionArn);
    if (!invoke) {
      throw new AwsError(
        'AccessDeniedException',
        'Secrets Manager cannot invoke the specified Lambda function.',
      );
    }
    if (input.RotationLambdaARN !== undefined || input.RotationRules !== undefined) {
      secret.rotationLambdaArn = functionArn;
      if (input.RotationRules !== undefined) secret.rotationRules = input.RotationRules;
      secret.rotationEnabled = true;
    }
    if (input.RotateImmediately === false) return { ARN: secret.arn, Name: secret.name };

    const pending = [...secret.versions.values()].find(
      (v) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'),
    );
    if (pending) {
      // A previous rotation isn't finished: Secrets Manager tries it again, and refuses a new one.
      await this.#runRotation(secret, invoke, pending.id);
      throw new AwsError(
        'InvalidRequestException',
        "A previous rotation isn't complete. That rotation will be reattempted.",
      );
    }
    const token = String(input.ClientRequestToken ?? randomUUID());
    // A version with this token exists already: a retried request, which changes nothing.
    if (secret.versions.has(token)) return { ARN: secret.arn, Name: secret.name, VersionId: token };
    const version: SecretVersion = { id: token, value: undefined, stages: new Set(), created: Date.now() };
    secret.versions.set(token, version);
    this.#moveStage(secret, 'AWSPENDING', version);
    await this.#runRotation(secret, invoke, token);
    return { ARN: secret.arn, Name: secret.name, VersionId: token };
  }

  async #runRotation(secret: Secret, invoke: Invoke, token: string): Promise<void> {
    const record: RotationRecord = { secretName: secret.name, token, steps: [], finished: false };
    this.rotations.push(record);
    const rotationToken = randomUUID();
    for (const step of ROTATION_STEPS) {
      try {
        await invoke({
          Step: step,
          SecretId: secret.arn,
          ClientRequestToken: token,
          RotationToken: rotationToken,
        });
        record.steps.push({ step, ok: true });
      } catch (error) {
        // The error's name only: its message could hold anything, a password included.
        record.steps.push({ step, ok: false, errorType: error instanceof Error ? error.name : 'Error' });
        return;
      }
    }
    record.finished = true;
    secret.lastRotated = Date.now();
  }

  #cancelRotateSecret(input: Input) {
    const secret = this.#secret(input.SecretId);
    secret.rotationEnabled = false;
    // The version of an unfinished rotation stays as it is, for the caller to clean up.
    const pending = [...secret.versions.values()].find(
      (v) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'),
    );
    return { ARN: secret.arn, Name: secret.name, ...(pending ? { VersionId: pending.id } : {}) };
  }

  /** The value of the version labelled `stage`, parsed; for tests and the README's checks. */
  secretValue(name: string, stage = 'AWSCURRENT'): Record<string, unknown> | undefined {
    const version = [...(this.secrets.get(name)?.versions.values() ?? [])].find(
      (v) => v.stages.has(stage) && v.value !== undefined,
    );
    return version?.value === undefined ? undefined : (JSON.parse(version.value) as Record<string, unknown>);
  }
}
