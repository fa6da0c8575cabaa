// Server backend: a ClickHouse server or cluster through @clickhouse/client.
// Same SQL as the embedded backend; on a cluster, the same SQL over Distributed tables.
import { createClient } from '@clickhouse/client';
import { StoreError, type Backend, type Params } from './backend.js';
import { CLUSTER_SETTINGS } from './cluster.js';

export interface ServerOptions {
  url: string;
  username: string;
  password: string;
  /** The ClickHouse cluster the schema is laid out on: queries get the settings it relies on. */
  cluster?: string;
}

/** Connect to a ClickHouse server over HTTP(S). */
export function openServer(opts: ServerOptions): Backend {
  const client = createClient({
    url: opts.url,
    username: opts.username,
    password: opts.password,
    request_timeout: 60_000,
    clickhouse_settings: { date_time_input_format: 'best_effort', ...(opts.cluster ? CLUSTER_SETTINGS : {}) },
  });
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new StoreError(`ClickHouse ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    query: <T>(sql: string, params?: Params) =>
      wrap('query', async () => {
        const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow' });
        return rs.json<T>();
      }),
    queryRowBinary: (sql: string, params?: Params) =>
      wrap('query', async () => {
        const { stream } = await client.exec({ query: `${sql} FORMAT RowBinary`, query_params: params });
        const chunks: Buffer[] = [];
        for await (const chunk of stream) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }),
    insert: (table: string, rows: readonly object[]) =>
      wrap('insert', async () => {
        if (rows.length === 0) return;
        await client.insert({ table, values: rows as object[], format: 'JSONEachRow' });
      }),
    command: (sql: string, params?: Params) =>
      wrap('command', async () => {
        await client.command({ query: sql, query_params: params });
      }),
    close: () => client.close(),
  };
}
