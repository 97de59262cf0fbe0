// Warm overhead: one process, one bundle, many invocations of the same event after a warm-up.
// Each invocation's time is split into time with an HTTP request to the sandbox in flight (the
// union of the requests' intervals, seen through Node's diagnostics channels: node:http for the
// AWS SDK, undici for fetch, which the providers' clients use) and the rest: the handler's own
// work (middleware chain, validation, signing, logging).
//   node warm-child.mjs <bundle.mjs> <event JSON> <warm-up count> <measured count>
import { subscribe } from 'node:diagnostics_channel';
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { lambdaContext } from './lambda-context.mjs';

const [bundle, event, warmup, count] = process.argv.slice(2);

const inFlight = new Set();
let busySince = 0;
let busyMs = 0;
let requests = 0;
const begin = (request) => {
  if (inFlight.size === 0) busySince = performance.now();
  inFlight.add(request);
  requests += 1;
};
const end = (request) => {
  if (inFlight.delete(request) && inFlight.size === 0) busyMs += performance.now() - busySince;
};
subscribe('http.client.request.start', ({ request }) => begin(request));
subscribe('http.client.response.finish', ({ request }) => end(request));
subscribe('http.client.request.error', ({ request }) => end(request));
subscribe('undici:request:create', ({ request }) => begin(request));
subscribe('undici:request:trailers', ({ request }) => end(request));
subscribe('undici:request:error', ({ request }) => end(request));

const { handler } = await import(pathToFileURL(bundle).href);
const invoke = async () => {
  const [payload, context] = [JSON.parse(event), lambdaContext()];
  busyMs = 0;
  requests = 0;
  const started = performance.now();
  const answer = await handler(payload, context);
  const totalMs = performance.now() - started;
  // The handlers answer a dry run with ok; the peers with an HTTP-like 200.
  if (answer?.ok !== true && answer?.statusCode !== 200)
    throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 300)}`);
  return { totalMs, networkMs: busyMs, requests, openRequests: inFlight.size };
};

for (let i = 0; i < Number(warmup); i++) await invoke();
const samples = [];
for (let i = 0; i < Number(count); i++) samples.push(await invoke());
writeSync(3, `${JSON.stringify({ samples, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
process.exit(0);
