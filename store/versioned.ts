// Rows kept as versions in a ReplacingMergeTree(updated_at): a change inserts a newer
// copy, reads take the newest (FINAL). Shared by every repository of such a table.
import { StoreError, type Backend, type Params } from './backend.js';
import { chTime, fromChTime } from './migrations.js';

/** Columns every versioned table has (times as ClickHouse DateTime64 text). */
export interface VersionedRow {
  org_id: string;
  created_at: string;
  updated_at: string;
}

/** A versioned row that is deleted by a newer version with deleted = 1 (a tombstone). */
export interface DeletableRow extends VersionedRow {
  deleted: number;
}

/** One versioned table whose ORDER BY (a row's identity) is org_id then `key`. */
export class VersionedTable<R extends VersionedRow> {
  private lastVersion = 0;

  constructor(
    private readonly backend: Backend,
    readonly table: string,
    private readonly key: readonly string[],
    private readonly now: () => number,
  ) {}

  /**
   * A strictly increasing version time (epoch ms), also later than `previous` (the row's
   * last version), so two writes of one row in one millisecond keep their order.
   */
  versionMs(previous = 0): number {
    this.lastVersion = Math.max(this.now(), this.lastVersion + 1, previous + 1);
    return this.lastVersion;
  }

  /** versionMs() as DateTime64 text, for rows that keep their times as text. */
  version(): string {
    return chTime(this.versionMs());
  }

  /** The newest version of each row matching `where` (bound parameters), then `tail` (ORDER BY, LIMIT). */
  async select(where: string, params: Params = {}, tail = ''): Promise<R[]> {
    const live = this.liveOnly();
    return this.backend.query<R>(
      `SELECT * FROM ${this.table} FINAL WHERE ${live ? `(${where}) AND ${live}` : where} ${tail}`,
      params,
    );
  }

  /** One row by its key values (in `key` order). */
  async get(orgId: string, ...id: string[]): Promise<R | undefined> {
    if (id.length !== this.key.length)
      throw new StoreError(`${this.table}: a row is identified by ${this.key.join(', ')}`);
    const params: Params = { org: orgId };
    const where = ['org_id = {org:String}'];
    this.key.forEach((column, i) => {
      where.push(`${column} = {k${i}:String}`);
      params[`k${i}`] = id[i];
    });
    const [row] = await this.select(where.join(' AND '), params);
    return row;
  }

  /** Rows of one org (and `where`), oldest first. */
  async list(orgId: string, where = '', params: Params = {}): Promise<R[]> {
    return this.select(
      where ? `org_id = {org:String} AND ${where}` : 'org_id = {org:String}',
      { org: orgId, ...params },
      `ORDER BY created_at, ${this.key.join(', ')}`,
    );
  }

  /** Store one row version. */
  async put(row: R): Promise<void> {
    await this.insert([row]);
  }

  /** Store row versions (their updated_at already set from versionMs() or version()). */
  async insert(rows: readonly R[]): Promise<void> {
    if (rows.length === 0) return;
    await this.backend.insert(this.table, rows);
  }

  /** The condition that hides deleted rows ('' when rows are never deleted). */
  protected liveOnly(): string {
    return '';
  }
}

/** A versioned table whose rows are deleted by a tombstone version; reads never see deleted rows. */
export class DeletableTable<R extends DeletableRow> extends VersionedTable<R> {
  async remove(row: R): Promise<void> {
    await this.put({ ...row, deleted: 1, updated_at: this.version() });
  }

  protected override liveOnly(): string {
    return 'deleted = 0';
  }
}

/** ClickHouse DateTime64 text → ISO 8601. */
export const isoTime = (text: string) => new Date(fromChTime(text)).toISOString();

/** ClickHouse DateTime64 text (or NULL) → epoch ms (or null). */
export const msOrNull = (text: string | null) => (text === null ? null : fromChTime(text));
