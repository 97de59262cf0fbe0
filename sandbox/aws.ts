import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OnFailureRecord } from './async-invocation.ts';
import {
  answerWithFault,
  FaultQueue,
  LostWriteLog,
  parseJson,
  readBody,
  sendJson,
  waitForFault,
} from './http-util.ts';
import type { Invoke } from './lambda-invoke.ts';

// The subset of SSM Parameter Store, Secrets Manager and EventBridge that the handlers call,
// over the AWS JSON protocol (X-Amz-Target), with the semantics the rotation relies on: a
// secret's first version is AWSCURRENT, a staging label sits on one version at a time, moving
// AWSCURRENT leaves AWSPREVIOUS on the old version, PutSecretValue is idempotent per token.
// It also plays Secrets Manager's part in native rotation: RotateSecret labels an empty version
// AWSPENDING and invokes the rotation function with each step in turn. ListSecrets answers the
// metadata a report needs (tags, dates, rotation settings, labels), never a value.

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
  description?: string;
  versions: Map<string, SecretVersion>;
  tags: unknown[];
  /** Epoch ms of CreateSecret. */
  created: number;
  /** Epoch ms of the last change of any kind (a value, a label, the rotation settings): LastChangedDate. */
  lastChanged: number;
  /** Every version that has ever been AWSCURRENT (for tests: "ok" must mean it was promoted). */
  everCurrent: Set<string>;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  rotationRules?: unknown;
  /** Epoch ms when rotation was last turned on: the schedule counts from here until a rotation finishes. */
  rotationSince?: number;
  /** Epoch ms of the last rotation whose four steps all succeeded. */
  lastRotated?: number;
}

/** ListSecrets' filter keys, each matched as a prefix of the secret's values of that attribute. */
const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service'];
const DAY_MS = 86_400_000;

/**
 * The start of the next rotation window: `rate(N days|hours)` or AutomaticallyAfterDays after the
 * last rotation (or after rotation was turned on). The sandbox does not evaluate `cron(…)`.
 */
const nextRotation = (secret: Secret): number | undefined => {
  if (!secret.rotationEnabled) return undefined;
  const rules = (secret.rotationRules ?? {}) as {
    ScheduleExpression?: string;
    AutomaticallyAfterDays?: number;
  };
  const rate = /^rate\((\d+) (day|days|hour|hours)\)$/.exec(rules.ScheduleExpression ?? '');
  const intervalMs = rate
    ? Number(rate[1]) * (rate[2]?.startsWith('day') ? DAY_MS : 3_600_000)
    : rules.ScheduleExpression === undefined && typeof rules.AutomaticallyAfterDays === 'number'
      ? rules.AutomaticallyAfterDays * DAY_MS
      : undefined;
  const from = secret.lastRotated ?? secret.rotationSince;
  return intervalMs === undefined || from === undefined ? undefined : from + intervalMs;
};

export interface PublishedEvent {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
}

/**
 * Receives every event put on the bus, in the EventBridge envelope a rule's target gets, with the
 * entry it came from (whose EventBusName, when given, names the bus it was put on).
 */
export type EventListener = (event: Record<string, unknown>, entry: PublishedEvent) => void;

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
  /**
   * The dead-letter queue: Lambda's onFailure records, and the messages of the request bus's
   * catch-all rules (deploy/unrouted-requests.cjs), which have a `reason` instead.
   */
  readonly deadLetters: Array<OnFailureRecord | Record<string, unknown>> = [];
  /** Rotation functions Secrets Manager may invoke, by Lambda function ARN (see lambdaFunctionArn). */
  readonly rotationFunctions = new Map<string, Invoke>();
  /** Every rotation RotateSecret started or re-attempted, oldest first. */
  readonly rotations: RotationRecord[] = [];
  /** Told the secret's name whenever a staging label moves or is removed (tests check invariants there). */
  readonly labelListeners: Array<(secretName: string) => void> = [];
  /** Writes applied whose answer an `applyThenDrop` fault dropped, and the SDK's retries of them. */
  readonly lostWrites = new LostWriteLog();

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const input = (parseJson(await readBody(req)) ?? {}) as Input;
    this.lostWrites.heard(req);
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
        this.lostWrites.lost(target, req);
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
      case 'secretsmanager.ListSecrets':
        return this.#listSecrets(input);
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
          for (const listener of this.eventListeners) listener(event, entry);
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
    const now = Date.now();
    const secret: Secret = {
      arn,
      name,
      ...(input.Description === undefined ? {} : { description: String(input.Description) }),
      versions: new Map(),
      tags: (input.Tags as unknown[]) ?? [],
      created: now,
      lastChanged: now,
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

  /** What DescribeSecret and ListSecrets both answer about a secret: metadata, never a value. */
  #metadata(secret: Secret) {
    const next = nextRotation(secret);
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description === undefined ? {} : { Description: secret.description }),
      Tags: secret.tags,
      RotationEnabled: secret.rotationEnabled,
      ...(secret.rotationLambdaArn === undefined ? {} : { RotationLambdaARN: secret.rotationLambdaArn }),
      ...(secret.rotationRules === undefined ? {} : { RotationRules: secret.rotationRules }),
      ...(secret.lastRotated === undefined ? {} : { LastRotatedDate: secret.lastRotated / 1000 }),
      LastChangedDate: secret.lastChanged / 1000,
      ...(next === undefined ? {} : { NextRotationDate: next / 1000 }),
      CreatedDate: secret.created / 1000,
    };
  }

  #stagesByVersion(secret: Secret): Record<string, string[]> {
    return Object.fromEntries(
      [...secret.versions.values()].filter((v) => v.stages.size > 0).map((v) => [v.id, [...v.stages]]),
    );
  }

  #describe(secret: Secret) {
    return { ...this.#metadata(secret), VersionIdsToStages: this.#stagesByVersion(secret) };
  }

  /**
   * ListSecrets: every secret that passes all filters (a filter passes when one of its values is a
   * prefix of one of the secret's values of that attribute; a value starting with `!` excludes),
   * by creation (SortOrder `asc` by default here), in pages of MaxResults (1-100, default 100).
   * NextToken names the last secret of the page, so secrets created meanwhile are not skipped.
   */
  #listSecrets(input: Input) {
    const maxResults = input.MaxResults === undefined ? 100 : Number(input.MaxResults);
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100)
      throw new AwsError('ValidationException', 'MaxResults must be between 1 and 100.');
    const filters = (input.Filters as Array<{ Key?: string; Values?: string[] }> | undefined) ?? [];
    for (const filter of filters) {
      if (!FILTER_KEYS.includes(String(filter.Key)))
        throw new AwsError(
          'InvalidParameterException',
          `The sandbox does not implement the filter ${filter.Key}.`,
        );
      if (!Array.isArray(filter.Values) || filter.Values.length < 1 || filter.Values.length > 10)
        throw new AwsError('ValidationException', 'A filter takes 1 to 10 values.');
    }
    const attribute = (secret: Secret, key: string): string[] => {
      const tags = secret.tags as Array<{ Key?: string; Value?: string }>;
      if (key === 'name') return [secret.name];
      if (key === 'description') return secret.description === undefined ? [] : [secret.description];
      if (key === 'tag-key') return tags.map((t) => String(t.Key));
      if (key === 'tag-value') return tags.map((t) => String(t.Value));
      return [];
    };
    const passes = (secret: Secret, { Key, Values }: { Key?: string; Values?: string[] }): boolean => {
      const key = String(Key);
      // Description matches without regard to case; the other keys with.
      const fold = (text: string) => (key === 'description' ? text.toLowerCase() : text);
      const own = attribute(secret, key).map(fold);
      const matches = (value: string) => own.some((candidate) => candidate.startsWith(fold(value)));
      const wanted = (Values ?? []).filter((v) => !v.startsWith('!'));
      const excluded = (Values ?? []).filter((v) => v.startsWith('!')).map((v) => v.slice(1));
      return (wanted.length === 0 || wanted.some(matches)) && !excluded.some(matches);
    };
    const listed = [...this.secrets.values()].filter((secret) => filters.every((f) => passes(secret, f)));
    if (input.SortOrder === 'desc') listed.reverse();
    let start = 0;
    if (input.NextToken !== undefined) {
      const after = Buffer.from(String(input.NextToken), 'base64url').toString('utf8');
      const index = listed.findIndex((secret) => secret.name === after);
      if (index < 0) throw new AwsError('InvalidNextTokenException', 'The NextToken value is not valid.');
      start = index + 1;
    }
    const page = listed.slice(start, start + maxResults);
    const last = page.at(-1);
    return {
      SecretList: page.map((secret) => ({
        ...this.#metadata(secret),
        SecretVersionsToStages: this.#stagesByVersion(secret),
      })),
      ...(last && start + maxResults < listed.length
        ? { NextToken: Buffer.from(last.name, 'utf8').toString('base64url') }
        : {}),
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
    secret.lastChanged = Date.now();
    for (const version of secret.versions.values()) {
      if (version !== to && version.stages.delete(stage) && stage === 'AWSCURRENT') {
        for (const other of secret.versions.values()) other.stages.delete('AWSPREVIOUS');
        version.stages.add('AWSPREVIOUS');
      }
    }
    to.stages.add(stage);
    if (stage === 'AWSCURRENT') secret.everCurrent.add(to.id);
    for (const listener of this.labelListeners) listener(secret.name);
  }

  #putSecretValue(input: Input) {
    const secret = this.#secret(input.SecretId);
    const id = String(input.ClientRequestToken ?? randomUUID());
    const value = String(input.SecretString);
    const existing = secret.versions.get(id);
    if (existing && existing.value === undefined) {
      // The empty version of a rotation in progress: createSecret fills it.
      existing.value = value;
      secret.lastChanged = Date.now();
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
    secret.lastChanged = Date.now();
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
        secret.lastChanged = Date.now();
        for (const listener of this.labelListeners) listener(secret.name);
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
      if (!secret.rotationEnabled) secret.rotationSince = Date.now();
      secret.rotationEnabled = true;
      secret.lastChanged = Date.now();
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
    secret.lastChanged = Date.now();
    // The version of an unfinished rotation stays as it is, for the caller to clean up.
    const pending = [...secret.versions.values()].find(
      (v) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'),
    );
    return { ARN: secret.arn, Name: secret.name, ...(pending ? { VersionId: pending.id } : {}) };
  }

  /**
   * Time passes for Secrets Manager: every date it keeps (versions' creation, a secret's changes and
   * rotations) moves `ms` into the past, so that an empty AWSPENDING version is as old as it would
   * be and a rotation schedule's next window comes `ms` sooner.
   */
  advanceClock(ms: number): void {
    for (const secret of this.secrets.values()) {
      secret.created -= ms;
      secret.lastChanged -= ms;
      if (secret.lastRotated !== undefined) secret.lastRotated -= ms;
      if (secret.rotationSince !== undefined) secret.rotationSince -= ms;
      for (const version of secret.versions.values()) version.created -= ms;
    }
  }

  /** The value of the version labelled `stage`, parsed; for tests and the README's checks. */
  secretValue(name: string, stage = 'AWSCURRENT'): Record<string, unknown> | undefined {
    const version = [...(this.secrets.get(name)?.versions.values() ?? [])].find(
      (v) => v.stages.has(stage) && v.value !== undefined,
    );
    return version?.value === undefined ? undefined : (JSON.parse(version.value) as Record<string, unknown>);
  }
}
