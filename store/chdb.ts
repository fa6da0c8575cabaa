// Embedded backend: chDB (ClickHouse in-process) with its data under DATA_DIR.
// chDB allows one data directory per process, so a process opens one session.
import { Session } from 'chdb';
import { StoreError, type Backend, type Params } from './backend.js';

let openPath: string | undefined;

/** The embedded backend; `session` is exposed for test support that speaks ClickHouse HTTP over it. */
export type ChdbBackend = Backend & { readonly session: Session };

/** Open the embedded engine on `dataDir` (the only data directory of this process). */
export function openChdb(dataDir: string): ChdbBackend {
  if (openPath !== undefined && openPath !== dataDir) {
    throw new StoreError(`chDB is already open on ${openPath}; one data directory per process`);
  }
  openPath = dataDir;
  const session = new Session(dataDir);
  const run = async (sql: string, params: Params | undefined, format: string) => {
    try {
      return params && Object.keys(params).length > 0
        ? await session.queryBindAsync(sql, params, { format })
        : await session.queryAsync(sql, { format });
    } catch (err) {
      throw new StoreError(`chDB: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    session,
    async query<T>(sql: string, params?: Params): Promise<T[]> {
      const text = (await run(sql, params, 'JSONEachRow')).text();
      if (text.length === 0) return [];
      return text
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as T);
    },
    async queryRowBinary(sql: string, params?: Params): Promise<Uint8Array> {
      return (await run(sql, params, 'RowBinary')).bytes();
    },
    async insert(table: string, rows: readonly object[]): Promise<void> {
      if (rows.length === 0) return;
      const payload = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n'));
      try {
        await session.insert({ table, values: payload, format: 'JSONEachRow' });
      } catch (err) {
        throw new StoreError(`chDB insert into ${table}: ${(err as Error).message}`, { cause: err });
      }
    },
    async command(sql: string, params?: Params): Promise<void> {
      await run(sql, params, 'CSV');
    },
    async close(): Promise<void> {
      session.close();
      openPath = undefined;
    },
  };
}
