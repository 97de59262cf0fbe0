// Checks package-lock.json for what `npm ci` needs to install exactly what was locked:
//   - every package entry (but links to folders of this repository) has `resolved`, an https URL,
//     and `integrity`, a sha512 hash: npm then fetches that tarball and refuses other bytes. An
//     entry without them is installed from whatever the registry answers for its version;
//   - every package with an install script is decided in package.json's `allowScripts` (npm runs
//     only the allowed ones).
// Usage: node scripts/check-lockfile.mjs [package-lock.json [package.json]]; exits 1 on a problem.
// Part of `npm test`. Why entries lose these fields, and how to restore them: docs/supply-chain.md.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const INTEGRITY = /^sha512-[A-Za-z0-9+/]{86}==$/;

/** The problems of a lockfile (parsed), one line each; empty when it is complete. */
export const lockfileProblems = (lock, manifest = {}) => {
  if (!lock || typeof lock !== 'object' || !lock.packages || typeof lock.packages !== 'object') {
    return ['no "packages" map: lockfileVersion 2 or 3 is required (npm 7 or later)'];
  }
  const problems = [];
  const allowScripts = manifest.allowScripts ?? {};
  const decided = (name) =>
    Object.keys(allowScripts).some((key) => key === name || key.startsWith(`${name}@`));
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === '' || entry.link === true) continue;
    // A bundled dependency comes inside its parent's tarball, under the parent's integrity.
    if (entry.inBundle === true) continue;
    const missing = [];
    if (typeof entry.resolved !== 'string' || !entry.resolved.startsWith('https://'))
      missing.push('resolved');
    if (typeof entry.integrity !== 'string' || !INTEGRITY.test(entry.integrity)) missing.push('integrity');
    if (missing.length > 0) problems.push(`${location}@${entry.version ?? '?'}: no ${missing.join(', no ')}`);
    const name = entry.name ?? location.slice(location.lastIndexOf('node_modules/') + 'node_modules/'.length);
    if (entry.hasInstallScript === true && !decided(name)) {
      problems.push(`${location}: has an install script that package.json's allowScripts does not decide`);
    }
  }
  return problems;
};

const main = () => {
  const lockPath = process.argv[2] ?? 'package-lock.json';
  const manifestPath = process.argv[3] ?? join(dirname(lockPath), 'package.json');
  const problems = lockfileProblems(
    JSON.parse(readFileSync(lockPath, 'utf8')),
    JSON.parse(readFileSync(manifestPath, 'utf8')),
  );
  if (problems.length === 0) return;
  console.error(`${lockPath}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  console.error('See docs/supply-chain.md for how to restore the missing fields.');
  process.exitCode = 1;
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
