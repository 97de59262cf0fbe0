// Runs one handler invocation in its own process, so that a history can SIGKILL it mid-await (no
// `finally` runs, as when Lambda ends an invocation). Input on stdin: {functionFile, event,
// timeoutMs}; output on stdout: one JSON line, the answer or the thrown error's name.
import { readFileSync } from 'node:fs';
import { lambdaContext } from '../support/events.ts';

const input = JSON.parse(readFileSync(0, 'utf8')) as {
  functionFile: string;
  event: unknown;
  timeoutMs: number;
};
const { handler } = (await import(`../../functions/${input.functionFile}.ts`)) as {
  handler: (event: unknown, context: unknown) => Promise<unknown>;
};
let answer: unknown;
try {
  answer = { ok: true, result: await handler(input.event, lambdaContext(input.timeoutMs)) };
} catch (error) {
  answer = { ok: false, name: (error as Error).name };
}
process.stdout.write(`\nCHILD-ANSWER ${JSON.stringify(answer)}\n`);
