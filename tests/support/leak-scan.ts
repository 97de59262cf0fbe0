import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Setup file of every test file: keeps everything the file writes (log lines, and the answers
// that suites record) and every secret it used, and leaves both in LEAK_SCAN_DIR for the count
// reporter, which scans the whole run for leaks once all files have finished.

const texts: string[] = [];
const secrets = new Set<string>();

/** Short values would match by accident; the secrets we generate and seed are longer. */
const MIN_SECRET_LENGTH = 8;

export const trackSecret = (...values: Array<string | undefined>): void => {
  for (const value of values) if (value && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
};

export const recordText = (text: string): void => {
  texts.push(text);
};

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    texts.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

afterAll(() => {
  const dir = process.env.LEAK_SCAN_DIR;
  if (!dir) return;
  writeFileSync(
    join(dir, `${randomUUID()}.json`),
    JSON.stringify({ text: texts.join(''), secrets: [...secrets] }),
  );
});
