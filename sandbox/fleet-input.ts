import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { PROVIDERS as DEFINITIONS } from '../lib/providers/registry.ts';

// The fleet file and the fleet state machine's input (deploy/fleet-rotation.cjs), checked before
// anything runs: a file that says one thing must not do another. Unknown keys, a missing or empty
// `targets`, a password, an option given both fleet-wide and in a target are refused, each named
// with its place in the file.

const PROVIDERS = DEFINITIONS.map((definition) => definition.id) as [string, ...string[]];

/** The fleet-wide options: each applies to every target, which may then not repeat it. */
export const FLEET_OPTIONS = ['dryRun', 'account'] as const;

const text = z.string({ error: 'must be a string' }).check(z.minLength(1, { error: 'must not be empty' }));
const bool = z.boolean({ error: 'must be true or false' });

/** A target: the envelope's fields that a fleet may carry (no password, ever). */
export const targetSchema = z.strictObject({
  provider: z.enum(PROVIDERS, { error: `must be one of ${PROVIDERS.join(', ')}` }),
  region: text,
  clusterId: text,
  projectId: z.optional(text),
  account: z.optional(text),
  secretId: z.optional(text),
  storePassword: z.optional(bool),
  dryRun: z.optional(bool),
  idempotencyKey: z.optional(text),
});
export type FleetTarget = z.output<typeof targetSchema>;

export const INVENTORY_FORMATS = ['JSONL', 'CSV'] as const;
export type InventoryFormat = (typeof INVENTORY_FORMATS)[number];

const options = {
  dryRun: z.optional(bool),
  account: z.optional(text),
};

const targetsInput = z.strictObject({
  ...options,
  targets: z
    .array(targetSchema, { error: 'must be a list of targets' })
    .check(z.minLength(1, { error: 'must hold at least one target' })),
});
const inventoryInput = z.strictObject({
  ...options,
  inventory: z.strictObject({
    key: text,
    format: z.enum(INVENTORY_FORMATS, { error: 'must be "JSONL" or "CSV"' }),
  }),
});
/** An input names its items either inline (`targets`) or in an inventory, never both. */
export const fleetInputSchema = (value: Record<string, unknown>) =>
  'inventory' in value && !('targets' in value) ? inventoryInput : targetsInput;
export type FleetInput = z.output<typeof targetsInput> | z.output<typeof inventoryInput>;

export class FleetInputError extends Error {
  override name = 'FleetInputError';
}

const PASSWORD_RULE =
  'must not be in a fleet input (Step Functions keeps inputs in plain text); leave it out and the handler generates one';

interface Issue {
  field: string;
  rule: string;
}

const issuesOf = (error: z.core.$ZodError, value: unknown, prefix = ''): Issue[] =>
  error.issues.flatMap((issue): Issue[] => {
    const at = (path: PropertyKey[]) =>
      path
        .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
        .join('')
        .replace(/^\./, '');
    const base = at(issue.path);
    const given = issue.path.reduce<unknown>(
      (at, key) =>
        at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined,
      value,
    );
    if (issue.code === 'invalid_type' && issue.path.length > 0 && given === undefined) {
      return [{ field: `${prefix}${base}`, rule: 'is required' }];
    }
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const field = `${prefix}${base ? `${base}.` : ''}${key}`;
        return { field, rule: key === 'password' ? PASSWORD_RULE : 'is not a field of a fleet input' };
      });
    }
    return [{ field: `${prefix}${base}` || '(input)', rule: issue.message }];
  });

const describe = (source: string, issues: Issue[]) =>
  new FleetInputError(`${source}: ${issues.map((i) => `${i.field} ${i.rule}`).join('; ')}`);

/** An option set fleet-wide and again in a target: which one applies would surprise someone. */
const conflicts = (
  input: Record<string, unknown>,
  targets: FleetTarget[],
  at: (i: number) => string,
): Issue[] =>
  FLEET_OPTIONS.filter((option) => input[option] !== undefined).flatMap((option) =>
    targets.flatMap((target, i) =>
      target[option] === undefined
        ? []
        : [
            {
              field: `${at(i)}.${option}`,
              rule: `is already set for the whole fleet ("${option}" at the top)`,
            },
          ],
    ),
  );

/** JSON.parse, with the file's name and the line and column of the first error. */
export const parseJson = (source: string, body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    let where = '';
    if (position !== undefined && !/line \d+/.test(message)) {
      const before = body.slice(0, Number(position)).split('\n');
      where = ` (line ${before.length} column ${(before.at(-1)?.length ?? 0) + 1})`;
    }
    throw new FleetInputError(`${source}: not valid JSON: ${message}${where}`);
  }
};

/** Validates a fleet input (the state machine's input, or a fleet file's content). */
export const parseFleetInput = (source: string, value: unknown): FleetInput => {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw describe(source, [
      {
        field: '(input)',
        rule: `must be a JSON object like { "targets": [ … ] }, not ${Array.isArray(value) ? 'a list' : String(value === null ? 'null' : typeof value)}`,
      },
    ]);
  }
  const parsed = fleetInputSchema(value as Record<string, unknown>).safeParse(value);
  if (!parsed.success) throw describe(source, issuesOf(parsed.error, value));
  if ('targets' in parsed.data) {
    const clash = conflicts(parsed.data, parsed.data.targets, (i) => `targets[${i}]`);
    if (clash.length > 0) throw describe(source, clash);
  }
  return parsed.data;
};

/** Validates one inventory item, named by its line in the file. */
export const parseInventoryItem = (
  source: string,
  line: number,
  value: unknown,
  fleet: Record<string, unknown>,
): FleetTarget => {
  const parsed = targetSchema.safeParse(value);
  if (!parsed.success) throw describe(`${source}:${line}`, issuesOf(parsed.error, value));
  const clash = conflicts(fleet, [parsed.data], () => `line ${line}`);
  if (clash.length > 0) throw describe(`${source}:${line}`, clash);
  return parsed.data;
};

/**
 * RFC 4180 CSV (quoted fields, "" for a quote, CRLF or LF), first row the header: what Step
 * Functions' CSV ItemReader reads, each row an object of strings. (No CSV library is among the
 * project's dependencies; this covers what an inventory needs.)
 */
export const parseCsv = (body: string): Array<Record<string, string>> => {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...data] = rows.filter((r) => !(r.length === 1 && r[0] === ''));
  if (!header) return [];
  return data.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ''])));
};

/**
 * An inventory file's items, as the state machine's ItemReader would read them (JSON Lines: one
 * object a line; CSV: strings, a header row), each validated and named by its line.
 */
export const readInventory = async (
  file: string,
  format: InventoryFormat,
  fleet: Record<string, unknown> = {},
): Promise<FleetTarget[]> => {
  const body = await readFile(file, 'utf8');
  if (format === 'CSV') {
    // A CSV cell is always a string: booleans in a CSV inventory cannot be told from text.
    return parseCsv(body).map((row, i) => parseInventoryItem(file, i + 2, row, fleet));
  }
  const items: FleetTarget[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    items.push(parseInventoryItem(file, i + 1, parseJson(`${file}:${i + 1}`, line), fleet));
  }
  return items;
};

export const formatOf = (file: string): InventoryFormat => (/\.csv$/i.test(file) ? 'CSV' : 'JSONL');
