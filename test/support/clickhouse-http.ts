// A small ClickHouse-HTTP-compatible endpoint that executes queries on chDB, so
// the server backend's real client path (@clickhouse/client: URL parameters,
// bound query parameters, formats, inserts, errors) runs in CI without a server.
// Not a ClickHouse server: one session, requests run one at a time.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Session } from 'chdb';

export interface ClickHouseHttp {
  url: string;
  /** Requests served, by kind, so tests can prove traffic went over HTTP. */
  served: { query: number; insert: number; ping: number };
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Parts of a multipart/form-data body (clickhouse-js sends long parameters this way). */
function multipart(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  const parts = new Map<string, string>();
  if (!boundary) return parts;
  for (const chunk of body.toString('utf8').split(`--${boundary}`)) {
    const m = /^\r?\nContent-Disposition: form-data; name="([^"]+)"\r?\n(?:[^\r\n]+\r?\n)*\r?\n([\s\S]*?)\r?\n?$/i.exec(
      chunk,
    );
    if (m) parts.set(m[1], m[2]);
  }
  return parts;
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Serve ClickHouse's HTTP interface on loopback, executing on `session`. */
export async function startClickHouseHttp(session: Session): Promise<ClickHouseHttp> {
  const served = { query: 0, insert: 0, ping: 0 };
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/ping') {
      served.ping++;
      res.end('Ok.\n');
      return;
    }
    const body = await readBody(req);
    const params = new Map<string, string>();
    for (const [k, v] of url.searchParams) if (k.startsWith('param_')) params.set(k.slice(6), v);
    let sql: string;
    const urlQuery = url.searchParams.get('query');
    const contentType = String(req.headers['content-type'] ?? '');
    if (urlQuery !== null) {
      // INSERT ... FORMAT X with the rows as the body: ClickHouse reads inline data after FORMAT.
      sql = `${urlQuery}\n${body.toString('utf8')}`;
      served.insert++;
    } else if (contentType.startsWith('multipart/form-data')) {
      const parts = multipart(body, contentType);
      sql = parts.get('query') ?? '';
      for (const [k, v] of parts) if (k.startsWith('param_')) params.set(k.slice(6), v);
      served.query++;
    } else {
      sql = body.toString('utf8');
      served.query++;
    }
    const queryId = url.searchParams.get('query_id') ?? '';
    try {
      const out = await exclusive(async () => {
        // Parameters reach the engine exactly as a server receives them: text values.
        for (const [name, value] of params) {
          if (!/^\w+$/.test(name)) throw new Error(`Code: 36. DB::Exception: bad parameter name ${name}`);
          await session.queryAsync(`SET param_${name} = ${sqlString(value)}`);
        }
        // Bytes, not text: a FORMAT clause may ask for a binary format (RowBinary).
        return Buffer.from((await session.queryAsync(sql, { format: 'TabSeparated' })).bytes());
      });
      res.writeHead(200, {
        'x-clickhouse-query-id': queryId,
        'x-clickhouse-summary': JSON.stringify({
          read_rows: '0',
          read_bytes: '0',
          written_rows: '0',
          written_bytes: '0',
          total_rows_to_read: '0',
          result_rows: '0',
          result_bytes: '0',
          elapsed_ns: '0',
        }),
      });
      res.end(out);
    } catch (err) {
      const message = (err as Error).message;
      const code = /Code: (\d+)/.exec(message)?.[1] ?? '1000';
      res.writeHead(500, { 'x-clickhouse-exception-code': code, 'x-clickhouse-query-id': queryId });
      res.end(message.startsWith('Code:') ? message : `Code: ${code}. DB::Exception: ${message}`);
    }
  };
  // A request that fails outside the handler's own try (a client gone mid-body) ends its socket.
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => res.destroy(err));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
