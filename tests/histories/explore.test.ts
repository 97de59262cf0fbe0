import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { report, useSuite } from '../integration/suite.ts';
import { historyCommands, type Model, parseDimensions } from './commands.ts';
import { endHistory, figures, LEASE_MS, settleHistory, startHistory } from './history.ts';
import { type RotationFunction, registerRotationFunction } from './world.ts';

// The history explorer, model-based on fast-check: each history rotates one cluster once, then runs
// commands (commands.ts): callers in every mode with faults at any provider or AWS call, kills in
// child processes at any call, Secrets Manager's own rotation and its retries, held calls landing
// late, and time passing; then every caller retries until it is done and a last rotation
// converges. After every command the invariant of world.ts holds. A failing history is shrunk to a
// minimal one and printed as a script, one command a line, with how to replay it.
//
// fc.commands rather than fc.scheduler: the handlers' awaits are on real sockets and child
// processes, which a scheduler of the test's own promises cannot order; the sandbox's held calls
// make every interleaving that matters an explicit command instead.
//
//   npm run test:histories -- --runs 200 [--seed 42]       (HISTORY_RUNS, HISTORY_SEED)
//   HISTORY_DIMENSIONS=all   also the dimensions today's rotation is known to fail (commands.ts)
//   HISTORY_PATH=… HISTORY_REPLAY_PATH=…                     replay one printed counterexample
//   HISTORY_VERBOSE=1                                        print every history's log

const RUNS = Number(process.env.HISTORY_RUNS ?? 20);
const SEED = Number(process.env.HISTORY_SEED ?? 20_261_207);
const MAX_COMMANDS = Number(process.env.HISTORY_MAX_COMMANDS ?? 12);
const DIMENSIONS = parseDimensions(process.env.HISTORY_DIMENSIONS ?? 'all');
const PATH = process.env.HISTORY_PATH;
const REPLAY_PATH = process.env.HISTORY_REPLAY_PATH;
const PROVIDERS = ['ncloud-cdss', 'otc-css'] as const;

const suite = useSuite({
  env: { LEASE_SECONDS: String(LEASE_MS / 1000), PROVIDER_TIMEOUT_MS: '250', DEADLINE_RESERVE_MS: '150' },
  changingMs: 40,
});

const functions = new Map<string, RotationFunction>();
beforeAll(() => {
  for (const providerId of PROVIDERS) functions.set(providerId, registerRotationFunction(suite, providerId));
});

const property = () =>
  fc.asyncProperty(
    fc.constantFrom(...PROVIDERS),
    historyCommands(DIMENSIONS, MAX_COMMANDS, REPLAY_PATH),
    async (providerId, commands) => {
      const h = await startHistory(suite, functions.get(providerId) as RotationFunction, providerId);
      try {
        await fc.asyncModelRun(
          () => ({ model: { held: false, nativeRan: false } as Model, real: h }),
          commands,
        );
        await settleHistory(h);
      } finally {
        if (process.env.HISTORY_VERBOSE) report(h.log.join('\n'));
        await endHistory(h);
      }
    },
  );

/** The shrunk history as a script, one command a line, and how to run it again. */
const script = (details: fc.RunDetails<[string, Iterable<unknown>]>): string => {
  const [providerId, commands] = details.counterexample ?? ['?', []];
  const ran = [...commands]
    .filter((c) => (c as { hasRan?: boolean }).hasRan)
    .map((c, i) => `  ${i + 1}. ${String(c)}`);
  const replayPath = /replayPath="([^"]*)"/.exec(String(commands))?.[1];
  return [
    `history explorer: a violation after ${details.numRuns} histories (seed ${details.seed}, ` +
      `dimensions ${[...DIMENSIONS].join(',') || 'default'}), shrunk ${details.numShrinks} times to:`,
    `  ${providerId}, its cluster rotated once, then`,
    ...ran,
    '  then every caller retries until done, and a last rotation',
    `  ${String((details.errorInstance as Error | undefined)?.message).split('\n')[0]}`,
    `replay: HISTORY_SEED=${details.seed} HISTORY_PATH=${details.counterexamplePath}` +
      `${replayPath ? ` HISTORY_REPLAY_PATH=${replayPath}` : ''}` +
      `${DIMENSIONS.size > 0 ? ` HISTORY_DIMENSIONS=${[...DIMENSIONS].join(',')}` : ''}` +
      ' npx vitest run tests/histories/explore.test.ts',
  ].join('\n');
};

const started = Date.now();

it(
  `explores ${RUNS} histories from seed ${SEED} and loses no password`,
  async () => {
    const details = await fc.check(property(), {
      seed: SEED,
      numRuns: RUNS,
      ...(PATH === undefined ? {} : { path: PATH }),
    });
    if (details.failed) report(script(details as fc.RunDetails<[string, Iterable<unknown>]>));
    expect(details.failed, 'a history violated the invariant (its script is printed above)').toBe(false);
  },
  RUNS * 60_000 + 120_000,
);

afterAll(() => {
  const lostWrites = [...suite.sandbox.dynamoLostWrites.writes, ...suite.sandbox.aws.lostWrites.writes];
  const totals = {
    seed: SEED,
    runs: RUNS,
    dimensions: [...DIMENSIONS],
    ...figures,
    writesAnsweredLost: lostWrites.length,
    writesAnsweredLostAndRetried: lostWrites.filter((w) => w.retriedBy !== undefined).length,
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  const dir = join(tmpdir(), 'history-explorer');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `figures-${SEED}-${process.pid}.json`);
  writeFileSync(file, `${JSON.stringify(totals, null, 2)}\n`);
  process.stderr.constructor.prototype.write.call(
    process.stderr,
    `history explorer (seed ${SEED}, dimensions ${totals.dimensions.join(',') || 'default'}): ` +
      `${totals.histories} histories, ${totals.commands} commands, ${totals.invocations} invocations, ` +
      `${totals.faults} faults, ${totals.writesAnsweredLostAndRetried} writes answered-lost-and-retried ` +
      `(of ${totals.writesAnsweredLost} answered-lost), ${totals.kills} kills, ${totals.lateApplies} late applies, ` +
      `${totals.timeJumps} time jumps, ${totals.nativeRotations} native rotations (${totals.nativeRetries} retries), ` +
      `${totals.violations} violations seen, ${totals.seconds} s; figures in ${file}\n`,
  );
});
