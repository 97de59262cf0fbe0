import type { IncomingMessage, ServerResponse } from 'node:http';

export const readBodyBytes = (req: IncomingMessage, maxBytes = 1024 * 1024): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

export const readBody = async (req: IncomingMessage, maxBytes?: number): Promise<string> =>
  (await readBodyBytes(req, maxBytes)).toString('utf8');

export const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
};

export const parseJson = (text: string): unknown => {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
};

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A failure the simulator injects on demand. Matching faults are consumed in order; `times`
 * (default 1) says how many requests one fault answers.
 */
export interface InjectedFault {
  /**
   * Which operation it applies to (simulator-specific names, e.g. "reset", "state"), or `*` for
   * every operation of that simulator.
   */
  operation: string;
  clusterId?: string;
  times?: number;
  /** Answer with this HTTP status and body instead of the real answer. */
  status?: number;
  body?: unknown;
  /** Raw text body (sent as text/plain) instead of JSON. */
  text?: string;
  headers?: Record<string, string>;
  /** Let this many matching requests through before the fault applies. */
  skip?: number;
  /** Wait this long before answering (or before the real handling). */
  delayMs?: number;
  /** Apply the operation, then drop the connection without an answer. */
  applyThenDrop?: boolean;
  /** Drop the connection without applying anything. */
  drop?: boolean;
  /** Only requests whose raw body matches this regular expression (e.g. one DynamoDB item key). */
  bodyPattern?: string;
  /**
   * In-process tests only: hold the request until the promise settles, then handle it ('apply')
   * or drop the connection unhandled ('drop'). Lets a test kill a caller while its call is held.
   * It is told the request's operation (what a `*` fault matched).
   */
  hold?: (operation: string) => Promise<'apply' | 'drop'>;
}

export class FaultQueue {
  readonly #faults: InjectedFault[] = [];
  /** How many requests a fault has answered, so that a test can tell a fault that never fired. */
  taken = 0;

  add(fault: InjectedFault): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clear(): void {
    this.#faults.length = 0;
  }

  take(operation: string, clusterId: string | undefined, body = ''): InjectedFault | undefined {
    const index = this.#faults.findIndex(
      (fault) =>
        (fault.operation === operation || fault.operation === '*') &&
        (fault.clusterId === undefined || fault.clusterId === clusterId) &&
        (fault.bodyPattern === undefined || new RegExp(fault.bodyPattern).test(body)),
    );
    if (index < 0) return undefined;
    const fault = this.#faults[index] as InjectedFault;
    if (fault.skip) {
      fault.skip--;
      return undefined;
    }
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) this.#faults.splice(index, 1);
    this.taken++;
    return fault.operation === '*' ? { ...fault, operation } : fault;
  }
}

/** Answers with an injected fault's status/body; returns false when the fault does not answer. */
export const answerWithFault = (res: ServerResponse, fault: InjectedFault): boolean => {
  if (fault.drop) {
    res.socket?.destroy();
    return true;
  }
  if (fault.status === undefined) return false;
  if (fault.text !== undefined) {
    res.writeHead(fault.status, { 'content-type': 'text/plain', ...fault.headers });
    res.end(fault.text);
  } else {
    sendJson(res, fault.status, fault.body ?? {}, fault.headers);
  }
  return true;
};

/**
 * The waiting part of a fault: its delay, then its hold. Answers true when the request was dropped
 * unhandled; the caller then records it and returns.
 */
export const waitForFault = async (
  res: ServerResponse,
  fault: InjectedFault | undefined,
): Promise<boolean> => {
  if (fault?.delayMs) await delay(fault.delayMs);
  if (fault?.hold && (await fault.hold(fault.operation)) === 'drop') {
    res.socket?.destroy();
    return true;
  }
  return false;
};

/** A reset request as it reached a provider simulator (for tests that check what was sent when). */
export type ResetListener = (reset: { region: string; clusterId: string; password: string }) => void;

/**
 * A write the sandbox applied and whose answer it dropped (`applyThenDrop`), and whether the AWS
 * SDK's retry of the same call came back: the SDK sends every attempt of one call with the same
 * `amz-sdk-invocation-id`, so a later request with that id is the retry, and it meets the write its
 * first attempt applied.
 */
export interface LostWrite {
  target: string;
  invocationId: string | undefined;
  /** The attempt number of the SDK's retry that came back (`amz-sdk-request: attempt=N`), if one did. */
  retriedBy?: number;
}

export class LostWriteLog {
  readonly writes: LostWrite[] = [];

  /** Notes a request; a retry of a lost write is marked on it. */
  heard(req: IncomingMessage): void {
    const id = req.headers['amz-sdk-invocation-id'];
    if (typeof id !== 'string') return;
    const lost = this.writes.find((w) => w.invocationId === id && w.retriedBy === undefined);
    if (!lost) return;
    const attempt = /attempt=(\d+)/.exec(String(req.headers['amz-sdk-request'] ?? ''));
    lost.retriedBy = attempt ? Number(attempt[1]) : 0;
  }

  /** Records a write applied whose answer is being dropped. */
  lost(target: string, req: IncomingMessage): void {
    const id = req.headers['amz-sdk-invocation-id'];
    this.writes.push({ target, invocationId: typeof id === 'string' ? id : undefined });
  }
}
