import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import dynalite from 'dynalite';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { readConfig } from '../../lib/config.ts';
import type { Envelope } from '../../lib/envelope.ts';
import { type RotationDeps, type RotationRequest, rotationRecords } from '../../lib/rotation/context.ts';
import { RequestFingerprints } from '../../lib/rotation/fingerprint.ts';
import { RecordTable } from '../../lib/rotation/record-table.ts';
import { SecretStore } from '../../lib/rotation/secret-store.ts';
import type { VersionState } from '../../lib/rotation/version-record.ts';
import { createLockTable } from '../../sandbox/server.ts';
import { type ProviderScript, scriptedProvider } from './scripted-provider.ts';

// The world of the rotation's unit tests, described as a reader would say it:
//   world.given.secret().version(PLACEHOLDER, 'AWSCURRENT').version(MINE, 'AWSPENDING', 'p@ss');
//   world.given.version(MINE, 'sent').leaseInDoubt(MINE);
// DynamoDB is dynalite (real conditional writes, one fresh table per test); Secrets Manager is
// aws-sdk-client-mock answering from a small secret the test describes, so that every input the
// rotation sends can be read back exactly. `world.log` lists every call, AWS and provider, in order.

export const SECRET_NAME = 'cluster-password-reset/test/ncloud-cdss/KR/1009123';
export const LEASE_KEY = 'lease#ncloud-cdss#KR#1009123';

export const OWN_TAGS = [
  { Key: 'managed-by', Value: 'cluster-password-reset' },
  { Key: 'provider', Value: 'ncloud-cdss' },
  { Key: 'region', Value: 'KR' },
  { Key: 'cluster-id', Value: '1009123' },
];

interface FakeVersion {
  stages: string[];
  value?: string;
  createdAt: number;
}

interface FakeSecret {
  versions: Map<string, FakeVersion>;
  tags: typeof OWN_TAGS;
  rotationEnabled: boolean;
}

/** A DynamoDB middleware that lets the call through, then loses its answer once, as a network would. */
export interface AnswerLoss {
  /** The command (e.g. 'UpdateItemCommand') and key prefix whose next write is applied but unanswered. */
  command: string;
  keyPrefix: string;
  /** Which matching call (1 = the next). */
  nth?: number;
}

const item = (fields: Record<string, string | number | boolean>): Record<string, AttributeValue> =>
  Object.fromEntries(
    Object.entries(fields).map(([name, value]) => [
      name,
      typeof value === 'string'
        ? { S: value }
        : typeof value === 'number'
          ? { N: String(value) }
          : { BOOL: value },
    ]),
  );

export const rotationWorld = () => {
  const config = readConfig({ STAGE: 'test' });
  const sm = mockClient(SecretsManagerClient);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let endpoint = '';
  let tables = 0;
  let tableName = '';
  let ddb: DynamoDBClient;
  let secret: FakeSecret | undefined;
  const losses: AnswerLoss[] = [];
  const failures: Array<{ command: string; keyPrefix: string; times: number }> = [];
  const hooks: Array<{ command: string; keyPrefix: string; run: () => Promise<unknown> }> = [];
  const smHooks: Array<{ command: string; run: () => void }> = [];
  const ddbInputs: Array<{ command: string; input: unknown }> = [];
  const script: ProviderScript = { log: [], sentPasswords: [] };
  const { client, provider } = scriptedProvider(() => script);
  const scriptedReset = client.reset;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    ddb?.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(async () => {
    tableName = `rotation-${++tables}`;
    await createLockTable(endpoint, tableName);
    ddb?.destroy();
    ddb = new DynamoDBClient({
      endpoint,
      region: 'eu-central-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 3,
    });
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: { pk?: { S?: string } }; Item?: { pk?: { S?: string } } };
        const pk = input.Key?.pk?.S ?? input.Item?.pk?.S ?? '';
        script.log.push(`ddb:${context.commandName?.replace(/Command$/, '')} ${pk.split('#')[0]}`);
        const hook = hooks.find(
          (h) => `${h.command}Command` === context.commandName && pk.startsWith(h.keyPrefix),
        );
        if (hook) {
          hooks.splice(hooks.indexOf(hook), 1);
          await hook.run();
        }
        const failing = failures.find(
          (f) => `${f.command}Command` === context.commandName && pk.startsWith(f.keyPrefix),
        );
        if (failing && failing.times > 0) {
          failing.times--;
          // Refused outright (not retried by the SDK): the write fails.
          throw Object.assign(new Error('injected failure'), {
            name: 'ValidationException',
            $fault: 'client',
          });
        }
        ddbInputs.push({ command: context.commandName?.replace(/Command$/, '') ?? '', input: args.input });
        const output = await next(args);
        const loss = losses.find(
          (l) => `${l.command}Command` === context.commandName && pk.startsWith(l.keyPrefix),
        );
        if (loss && (loss.nth ?? 1) <= 1) {
          losses.splice(losses.indexOf(loss), 1);
          // Applied, and its answer lost: the SDK's retry strategy sends it again.
          throw Object.assign(new Error('the connection closed before the answer'), { name: 'TimeoutError' });
        }
        if (loss) loss.nth = (loss.nth ?? 1) - 1;
        return output;
      },
      { step: 'deserialize', name: 'answerLoss' },
    );
    secret = undefined;
    losses.length = 0;
    failures.length = 0;
    hooks.length = 0;
    smHooks.length = 0;
    ddbInputs.length = 0;
    script.log = [];
    script.sentPasswords = [];
    delete script.resetFails;
    delete script.readyFails;
    delete script.facts;
    delete script.settled;
    client.reset = scriptedReset;
    sm.reset();
    fakeSecretsManager();
  });

  const fakeSecretsManager = () => {
    const logged = (name: string) => {
      script.log.push(`sm:${name}`);
      const hook = smHooks.find((h) => name === h.command || name.startsWith(`${h.command} `));
      if (hook) {
        smHooks.splice(smHooks.indexOf(hook), 1);
        hook.run();
      }
    };
    const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    sm.on(DescribeSecretCommand).callsFake(() => {
      logged('DescribeSecret');
      if (!secret) throw notFound();
      return {
        ARN: `arn:${SECRET_NAME}`,
        Name: SECRET_NAME,
        RotationEnabled: secret.rotationEnabled,
        VersionIdsToStages: Object.fromEntries(
          [...secret.versions].filter(([, v]) => v.stages.length > 0).map(([id, v]) => [id, [...v.stages]]),
        ),
        Tags: secret.tags,
      };
    });
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string; VersionId?: string }) => {
      if (input.SecretId === 'fp-key') return { SecretString: 'per-deployment-key' };
      logged('GetSecretValue');
      const version = input.VersionId ? secret?.versions.get(input.VersionId) : undefined;
      if (version?.value === undefined) throw notFound();
      return { SecretString: version.value, VersionId: input.VersionId };
    });
    sm.on(ListSecretVersionIdsCommand).callsFake(() => {
      logged('ListSecretVersionIds');
      return {
        Versions: [...(secret?.versions ?? [])].map(([VersionId, v]) => ({
          VersionId,
          CreatedDate: new Date(v.createdAt),
        })),
      };
    });
    sm.on(CreateSecretCommand).callsFake((input: { SecretString: string; ClientRequestToken: string }) => {
      logged('CreateSecret');
      secret ??= {
        versions: new Map([
          [
            input.ClientRequestToken,
            { stages: ['AWSCURRENT'], value: input.SecretString, createdAt: Date.now() },
          ],
        ]),
        tags: OWN_TAGS,
        rotationEnabled: false,
      };
      return { ARN: `arn:${SECRET_NAME}` };
    });
    sm.on(PutSecretValueCommand).callsFake(
      (input: { ClientRequestToken: string; SecretString: string; VersionStages: string[] }) => {
        logged('PutSecretValue');
        if (!secret) throw notFound();
        const existing = secret.versions.get(input.ClientRequestToken);
        if (existing?.value !== undefined && existing.value !== input.SecretString)
          throw new ResourceExistsException({ message: 'version exists', $metadata: {} });
        for (const stage of input.VersionStages) moveStage(stage, input.ClientRequestToken);
        const version = secret.versions.get(input.ClientRequestToken) ?? {
          stages: [],
          createdAt: Date.now(),
        };
        version.value = input.SecretString;
        version.stages = [...new Set([...version.stages, ...input.VersionStages])];
        secret.versions.set(input.ClientRequestToken, version);
        return {};
      },
    );
    sm.on(UpdateSecretVersionStageCommand).callsFake(
      (input: { VersionStage: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) => {
        logged(`UpdateSecretVersionStage ${input.VersionStage}`);
        const previous = [...(secret?.versions ?? [])].find(([, v]) => v.stages.includes('AWSCURRENT'));
        if (input.RemoveFromVersionId) {
          const from = secret?.versions.get(input.RemoveFromVersionId);
          if (from) from.stages = from.stages.filter((s) => s !== input.VersionStage);
        }
        if (input.MoveToVersionId) {
          if (input.VersionStage === 'AWSCURRENT' && previous && previous[0] !== input.MoveToVersionId)
            moveStage('AWSPREVIOUS', previous[0]);
          moveStage(input.VersionStage, input.MoveToVersionId);
        }
        return {};
      },
    );
  };

  const moveStage = (stage: string, to: string) => {
    for (const version of secret?.versions.values() ?? [])
      version.stages = version.stages.filter((s) => s !== stage);
    const target = secret?.versions.get(to);
    if (target) target.stages.push(stage);
  };

  const put = (pk: string, fields: Record<string, string | number | boolean>) =>
    ddb.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: pk }, ...item(fields) } }));

  const recordKey = (versionId: string) => `version#${SECRET_NAME}#${versionId}`;

  /** The world before the call, said in the protocol's words. Each method queues a write; await it. */
  const given = {
    secret(options: { tags?: typeof OWN_TAGS; rotationEnabled?: boolean } = {}) {
      secret = {
        versions: new Map(),
        tags: options.tags ?? OWN_TAGS,
        rotationEnabled: options.rotationEnabled ?? false,
      };
      const versions = {
        /** A version with its labels; `password` undefined is the placeholder (or an empty version with `empty`). */
        version(
          id: string,
          stages: string | string[],
          password?: string,
          options: { empty?: boolean; ageMs?: number } = {},
        ) {
          const value = options.empty
            ? undefined
            : JSON.stringify({
                provider: 'ncloud-cdss',
                region: 'KR',
                clusterId: '1009123',
                ...(password ? { password } : {}),
              });
          secret?.versions.set(id, {
            stages: typeof stages === 'string' ? [stages] : stages,
            ...(value === undefined ? {} : { value }),
            createdAt: Date.now() - (options.ageMs ?? 0),
          });
          return versions;
        },
      };
      return versions;
    },
    /** A version record, written as the rotation writes it (no TTL), or settled long ago. */
    version: async (
      versionId: string,
      state: VersionState,
      options: { error?: object; expiredAt?: number } = {},
    ) => {
      await put(recordKey(versionId), {
        state,
        ...(options.error ? { error: JSON.stringify(options.error) } : {}),
        ...(options.expiredAt === undefined ? {} : { expiresAt: Math.floor(options.expiredAt / 1000) }),
      });
    },
    /** The cluster's lease, held by `owner`'s invocation `holder` (its deadline passed unless `alive`). */
    lease: async (
      owner: string,
      options: {
        inDoubt?: boolean;
        alive?: boolean;
        handedOver?: boolean;
        untilMs?: number;
        holder?: string;
      } = {},
    ) => {
      const until = Date.now() + (options.untilMs ?? 60_000);
      await put(LEASE_KEY, {
        owner,
        holder: options.holder ?? 'earlier-invocation',
        holderDeadline: options.handedOver ? 0 : options.alive ? until : Date.now() - 1_000,
        leaseUntil: until,
        expiresAt: Math.ceil(until / 1000),
        inDoubt: options.inDoubt ?? false,
      });
    },
    key: async (key: string, fingerprint: string, state: string, outcome?: unknown) => {
      await put(`key#ncloud-cdss#${key}`, {
        fingerprint,
        state,
        ...(outcome === undefined ? {} : { outcome: JSON.stringify(outcome) }),
        expiresAt: Math.floor(Date.now() / 1000) + 3600,
      });
    },
    /** The cluster bound to a secret and an account (lib/rotation/binding.ts), and a project. */
    binding: async (secretName: string, account = 'default', options: { projectId?: string } = {}) => {
      await put(`binding#ncloud-cdss#KR#1009123`, { secretName, account, ...options });
    },
    /** Any item, as an earlier release may have written it. */
    item: async (pk: string, fields: Record<string, string | number | boolean>) => {
      await put(pk, fields);
    },
    /** The next `times` matching DynamoDB calls fail, applied nowhere. */
    writeFails: (failure: { command: string; keyPrefix: string; times: number }) => {
      failures.push({ ...failure });
    },
    /** The next matching DynamoDB write is applied and its answer lost; the SDK retries it. */
    answerLost: (loss: AnswerLoss) => {
      losses.push(loss);
    },
  };

  const read = async (pk: string) =>
    (
      await ddb.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk } }, ConsistentRead: true }),
      )
    ).Item;

  return {
    config,
    sm,
    script,
    provider,
    client,
    given,
    get log() {
      return script.log;
    },
    /** Runs `run` just before the next matching DynamoDB call goes out (another invocation's write). */
    onNextCall: (command: string, keyPrefix: string, run: () => Promise<unknown>) => {
      hooks.push({ command, keyPrefix, run });
    },
    /** Runs `run` as the next Secrets Manager call named `command` arrives, before it is answered. */
    onNextSmCall: (command: string, run: () => void) => {
      smHooks.push({ command, run });
    },
    /** Every DynamoDB call's command and exact input (the table's name is `world.tableName`). */
    ddbInputs,
    get tableName() {
      return tableName;
    },
    /** A request for the world's cluster under key-1, with the given envelope fields changed. */
    request: (change: Partial<Envelope> = {}, definition = provider): RotationRequest => ({
      provider: definition,
      envelope: {
        provider: 'ncloud-cdss',
        region: 'KR',
        clusterId: '1009123',
        account: 'default',
        storePassword: true,
        dryRun: false,
        idempotencyKey: 'key-1',
        ...change,
      } as Envelope & { idempotencyKey: string },
      credentials: { accessKey: 'AK', secretKey: 'SK' },
      requestId: 'lambda-req-1',
      deadline: Date.now() + 10_000,
      invocationDeadline: Date.now() + 12_000,
    }),
    deps: (): RotationDeps => ({
      secrets: new SecretStore(new SecretsManagerClient({ region: 'eu-central-1' })),
      records: rotationRecords(ddb, tableName, 120),
      fingerprints: new RequestFingerprints(new SecretsManagerClient({ region: 'eu-central-1' }), 'fp-key'),
      config,
    }),
    /** The table the record modules write through (record-table.ts), on this test's table. */
    recordTable: () => new RecordTable(ddb, tableName),
    /** The secret as the rotation left it: each version's labels. */
    stages: (): Record<string, string[]> =>
      Object.fromEntries([...(secret?.versions ?? [])].map(([id, v]) => [id, [...v.stages].sort()])),
    passwordOf: (versionId: string): string | undefined => {
      const value = secret?.versions.get(versionId)?.value;
      return value === undefined ? undefined : (JSON.parse(value) as { password?: string }).password;
    },
    /** A version record: its state, and whether it may expire (a TTL is set). */
    versionRecord: async (versionId: string) => {
      const found = await read(recordKey(versionId));
      return found && { state: found.state?.S, expires: found.expiresAt !== undefined };
    },
    lease: async () => {
      const found = await read(LEASE_KEY);
      return (
        found && {
          owner: found.owner?.S,
          inDoubt: found.inDoubt?.BOOL,
          handedOver: found.holderDeadline?.N === '0',
        }
      );
    },
    keyRecord: async (key: string) => {
      const found = await read(`key#ncloud-cdss#${key}`);
      return found && { state: found.state?.S, expires: found.expiresAt !== undefined };
    },
    binding: async () => {
      const found = await read('binding#ncloud-cdss#KR#1009123');
      return (
        found && {
          secretName: found.secretName?.S,
          account: found.account?.S,
          ...(found.projectId ? { projectId: found.projectId.S } : {}),
        }
      );
    },
    rawItem: read,
  };
};
