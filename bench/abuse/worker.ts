// The abuse bench's clients, each in its own thread so neither shares an event loop with the
// service or with the other: `legit` sends one CloudEvent per request, one after another, with
// a real key and counts the events stored; `flood` sends the same requests with a fresh,
// well-formed fake key each time over several keep-alive connections, as fast as answers come.
import { connect, type Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';
import { generateKey } from '../../store/orgs.js';

/** One run of one client. */
export interface ClientRun {
  role: 'legit' | 'flood';
  url: string;
  /** The legit client's key (the flood makes up its own). */
  key?: string;
  connections: number;
  seconds: number;
}

/** What a run saw: answers by status, per second over the run. */
export interface ClientResult {
  perSecond: number;
  statuses: Record<string, number>;
  /** The legit client's median latency, ms. */
  p50Ms?: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** One keep-alive HTTP/1.1 connection; answers are framed by Content-Length. */
async function connection(url: URL): Promise<{ send(bytes: Buffer): Promise<number>; close(): void }> {
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
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(headers)?.[1] ?? 0);
    if (buffered.length < end + 4 + length) return;
    buffered = buffered.subarray(end + 4 + length);
    const done = pending;
    pending = undefined;
    done.resolve(Number(headers.slice(9, 12)));
  });
  socket.on('error', (err) => pending?.reject(err));
  socket.on('close', () => pending?.reject(new Error('connection closed')));
  return {
    send: (bytes) =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(bytes);
      }),
    close: () => socket.destroy(),
  };
}

let sequence = 0;
/** A POST /v1/events of one structured CloudEvent under `key`, as bytes. */
function eventRequest(url: URL, key: string): Buffer {
  const body = JSON.stringify({
    specversion: '1.0',
    id: `abuse-${process.pid}-${Date.now()}-${sequence++}`,
    source: 'bench/abuse',
    type: 'dev.opstrails.deployment',
    subject: 'production',
    version: 'v1',
  });
  return Buffer.from(
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${key}\r\n` +
      `Content-Type: application/cloudevents+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

async function run(r: ClientRun): Promise<ClientResult> {
  const url = new URL(r.url);
  const sockets = await Promise.all(Array.from({ length: r.connections }, () => connection(url)));
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + r.seconds * 1000;
  await Promise.all(
    sockets.map(async (s) => {
      while (performance.now() < end) {
        const bytes = eventRequest(url, r.role === 'legit' ? r.key! : generateKey().key);
        const sent = performance.now();
        const status = await s.send(bytes).catch(() => 0);
        if (r.role === 'legit') latencies.push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  for (const s of sockets) s.close();
  latencies.sort((a, b) => a - b);
  const counted = r.role === 'legit' ? (statuses['202'] ?? 0) : Object.values(statuses).reduce((a, b) => a + b, 0);
  return {
    perSecond: counted / seconds,
    statuses,
    ...(latencies.length > 0 ? { p50Ms: latencies[Math.floor(latencies.length / 2)] } : {}),
  };
}

parentPort?.on('message', (r: ClientRun) => {
  run(r).then(
    (result) => parentPort!.postMessage(result),
    (err: unknown) => parentPort!.postMessage({ error: String(err) }),
  );
});
