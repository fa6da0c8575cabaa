// A local HTTP server that replays provider responses and records every request,
// so connector tests go through the connector's real client code over real HTTP.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** Raw body text ('' when none). */
  body: string;
  /** Parsed JSON body, or undefined. */
  json: any;
}

export interface ReplayResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
}

export type ReplayHandler = (req: RecordedRequest) => ReplayResponse | Promise<ReplayResponse>;

export interface Replay {
  /** e.g. http://127.0.0.1:39123 */
  url: string;
  requests: RecordedRequest[];
  /** Swap the handler between test cases. */
  setHandler(handler: ReplayHandler): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Start a replay server on a free loopback port. */
export async function startReplay(handler: ReplayHandler): Promise<Replay> {
  let current = handler;
  const requests: RecordedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    let json: unknown;
    try {
      json = body ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
    );
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers,
      body,
      json,
    };
    requests.push(recorded);
    let answer: ReplayResponse;
    try {
      answer = await current(recorded);
    } catch (err) {
      answer = { status: 599, body: { replay_error: String(err) } };
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (res.destroyed) return;
    const isString = typeof answer.body === 'string';
    res.writeHead(answer.status ?? 200, {
      'content-type': isString ? 'text/plain' : 'application/json',
      ...answer.headers,
    });
    res.end(answer.body === undefined ? '' : isString ? (answer.body as string) : JSON.stringify(answer.body));
  };
  // A request that fails outside the handler's own try (a client gone mid-body) ends its socket.
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => res.destroy(err));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setHandler(h) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
