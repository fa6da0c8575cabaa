// The one interface both ClickHouse backends implement: query, insert, command.
// Parameters are always bound ({name:Type} in the SQL), never concatenated.

/** Values that can be bound to `{name:Type}` placeholders. */
export type Param = string | number | boolean | null | readonly string[] | readonly number[];
export type Params = Record<string, Param>;

/** A ClickHouse backend (embedded chDB or a server). */
export interface Backend {
  /** Run a SELECT and return its rows (64-bit integers arrive as strings). */
  query<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  /** Run a SELECT (without a FORMAT clause) and return its result in ClickHouse's RowBinary format. */
  queryRowBinary(sql: string, params?: Params): Promise<Uint8Array>;
  /** Insert rows (objects keyed by column) into `table` (database-qualified). */
  insert(table: string, rows: readonly object[]): Promise<void>;
  /** Run a statement that returns nothing (DDL, ALTER, ...). */
  command(sql: string, params?: Params): Promise<void>;
  /** Release the connection. */
  close(): Promise<void>;
}

/** A store failure (the backend's message is for logs, never for API callers). */
export class StoreError extends Error {
  readonly code = 'store_error';
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'StoreError';
  }
}

/** Check a database/table identifier before it is placed into SQL text. */
export function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new StoreError(`invalid identifier: ${name}`);
  return name;
}
