// One cold start, in a fresh Node process: import the bundle and, given an event, answer one
// invocation. The report goes to fd 3, because the handlers log to stdout.
//   node cold-child.mjs <bundle.mjs> [event JSON]
// Plain .mjs on purpose: a .ts child would load Node's type stripper and bill it to the bundle.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from './lambda-context.mjs';

const [bundle, event] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
let answer;
if (event !== undefined) {
  try {
    answer = await handler(JSON.parse(event), lambdaContext());
  } catch (error) {
    answer = { thrown: error?.name, message: error?.message };
  }
}
// CPU time (user + system) as well as the parent's wall time: on a loaded machine the wall time
// also counts the time this process waited for a core.
const { user, system } = process.cpuUsage();
writeSync(
  3,
  `${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, cpuMs: (user + system) / 1000, answer })}\n`,
);
// Keep-alive sockets would hold the process open; the parent has its answer.
process.exit(0);
