// The polling bench's load generator, in its own thread so the service's event loop is not
// also driving the clients. Each client is one keep-alive HTTP/1.1 connection sending one
// request after another for a fixed time; every latency is recorded. Two kinds of client:
// `agent` is node:http with a keep-alive Agent (what a Node dashboard backend would use);
// `lean` writes the same request bytes on a node:net socket and frames each answer by its
// Content-Length, so that on a small machine the clients cost less than the service.
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';

/** Which HTTP client the run uses (see the module comment). */
export type ClientKind = 'agent' | 'lean';

/** One measured run: `concurrency` clients on one URL for `seconds` (after a warm-up). */
export interface LoadRun {
  client: ClientKind;
  url: string;
  headers: Record<string, string>;
  /** The status every answer must have (anything else is counted as an error). */
  expect: number;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
}

/** What one run measured. */
export interface LoadResult {
  requests: number;
  errors: number;
  firstError?: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Sends one GET and resolves to the answer's status once the whole answer is in. */
type Send = () => Promise<number>;

function agentClient(agent: Agent, run: LoadRun): Send {
  return () =>
    new Promise((resolve, reject) => {
      const req = request(run.url, { agent, headers: run.headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection; answers are framed by Content-Length (304s and 204s have no body). */
async function leanClient(run: LoadRun): Promise<{ send: Send; close(): void }> {
  const url = new URL(run.url);
  const head = Object.entries({ host: url.host, ...run.headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const bytes = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\n${head}\r\n`);
  const socket: Socket = connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let pending: { resolve(status: number): void; reject(err: Error): void } | undefined;
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf(HEADER_END);
    if (end < 0 || !pending) return;
    const headers = buffered.subarray(0, end).toString('latin1');
    const status = Number(headers.slice(9, 12));
    if (/\r\ntransfer-encoding:/i.test(headers)) {
      pending.reject(new Error('chunked answers are not framed by this client'));
      return;
    }
    const length =
      status === 304 || status === 204 ? 0 : Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.subarray(end + 4 + length);
    const done = pending;
    pending = undefined;
    done.resolve(status);
  });
  socket.on('error', (err) => pending?.reject(err));
  return {
    send: () =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(bytes);
      }),
    close: () => socket.destroy(),
  };
}

async function load(run: LoadRun): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: run.concurrency });
  const lean =
    run.client === 'lean' ? await Promise.all(Array.from({ length: run.concurrency }, () => leanClient(run))) : [];
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const measureFrom = start + run.warmupSeconds * 1000;
  const end = measureFrom + run.seconds * 1000;
  await Promise.all(
    Array.from({ length: run.concurrency }, async (_, i) => {
      const send = run.client === 'lean' ? lean[i].send : agentClient(agent, run);
      for (;;) {
        const sent = performance.now();
        if (sent >= end) return;
        let status = 0;
        try {
          status = await send();
        } catch (err) {
          firstError ??= (err as Error).message;
        }
        const done = performance.now();
        if (sent < measureFrom) continue;
        if (status !== run.expect) {
          errors++;
          firstError ??= `HTTP ${status}`;
        }
        latencies.push(done - sent);
      }
    }),
  );
  agent.destroy();
  for (const c of lean) c.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    requests: latencies.length,
    errors,
    firstError,
    perSecond: latencies.length / run.seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

parentPort!.on('message', (run: LoadRun) => {
  load(run).then(
    (result) => parentPort!.postMessage(result),
    (err: unknown) => parentPort!.postMessage({ error: String(err) }),
  );
});
