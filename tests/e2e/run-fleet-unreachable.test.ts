import { execFile } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// `npm run fleet` without `npm start`: it must say so and fail, not print a summary of
// "fetch failed" and exit 0.

const exec = promisify(execFile);

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const runFleet = (lambdaPort: number) =>
  exec(process.execPath, ['sandbox/run-fleet.ts', 'examples/fleet-rotation.json'], {
    env: { ...process.env, OFFLINE_LAMBDA_PORT: String(lambdaPort) },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );

it('exits non-zero with a hint when nothing listens on the Lambda port', async () => {
  const port = await freePort();
  const { code, stdout, stderr } = await runFleet(port);
  expect(code).not.toBe(0);
  expect(stdout).toBe('');
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`http://127.0.0.1:${port}`);
  expect(lines[0]).toContain('is `npm start` running? start it in another terminal');
});

it('exits non-zero after the summary when invocations do not reach the Lambda API', async () => {
  // Something answers on the port, but not serverless offline's Lambda API.
  const impostor = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>not the Lambda API</html>');
  });
  await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
  const { port } = impostor.address() as { port: number };
  try {
    const { code, stdout, stderr } = await runFleet(port);
    expect(code).not.toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.succeeded).toEqual([]);
    expect(summary.failed).toHaveLength(3);
    expect(stderr).toContain('3 invocation(s) did not reach');
    expect(stderr).toContain('is `npm start` running? start it in another terminal');
  } finally {
    await new Promise((resolve) => impostor.close(resolve));
  }
}, 30_000);
