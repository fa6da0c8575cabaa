// Rows kept as versions in a ReplacingMergeTree(updated_at): an update inserts a
// newer copy; a delete inserts one with deleted = 1. Shared by connections and metrics.
import type { Backend } from './backend.js';
import { chTime, fromChTime } from './migrations.js';

export interface VersionedRow {
  org_id: string;
  created_at: string;
  updated_at: string;
  deleted: number;
}

/** One versioned table keyed by (org_id, idColumn). */
export class VersionedTable<R extends VersionedRow> {
  private lastVersion = 0;

  constructor(
    private readonly backend: Backend,
    private readonly table: string,
    private readonly idColumn: string,
    private readonly now: () => number,
  ) {}

  /** A strictly increasing version time, so two updates in one millisecond keep their order. */
  version(): string {
    this.lastVersion = Math.max(this.now(), this.lastVersion + 1);
    return chTime(this.lastVersion);
  }

  async get(orgId: string, id: string): Promise<R | undefined> {
    const rows = await this.backend.query<R>(
      `SELECT * FROM ${this.table} FINAL WHERE org_id = {org:String} AND ${this.idColumn} = {id:String} AND deleted = 0`,
      { org: orgId, id },
    );
    return rows[0];
  }

  async list(orgId: string, where = '', params: Record<string, string> = {}): Promise<R[]> {
    return this.backend.query<R>(
      `SELECT * FROM ${this.table} FINAL WHERE org_id = {org:String} AND deleted = 0 ${where ? `AND ${where}` : ''}
       ORDER BY created_at, ${this.idColumn}`,
      { org: orgId, ...params },
    );
  }

  async put(row: R): Promise<void> {
    await this.backend.insert(this.table, [row]);
  }

  async remove(row: R): Promise<void> {
    await this.backend.insert(this.table, [{ ...row, deleted: 1, updated_at: this.version() }]);
  }
}

/** ClickHouse DateTime64 text → ISO 8601. */
export const isoTime = (text: string) => new Date(fromChTime(text)).toISOString();
