// Connections: a provider, its non-secret config (JSON) and its secrets, sealed
// with AES-256-GCM. Secrets leave this repository only through `secrets()`.
import { randomUUID } from 'node:crypto';
import type { Backend } from './backend.js';
import { chTime } from './migrations.js';
import { SecretUndecryptableError, type KeyDescription, type SecretBox } from './secrets.js';
import { DeletableTable, isoTime, type DeletableRow } from './versioned.js';

export type ConnectionStatus = 'unchecked' | 'ok' | 'failing';

/** A connection as the API shows it (never its secrets). */
export interface Connection {
  id: string;
  org_id: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  status: ConnectionStatus;
  status_message: string | null;
  checked_at: string | null;
  created_at: string;
  updated_at: string;
}

interface Row extends DeletableRow {
  connection_id: string;
  provider: string;
  name: string;
  config: string;
  secrets: string;
  status: ConnectionStatus;
  status_message: string;
  checked_at: string | null;
}

export interface ConnectionPatch {
  name?: string;
  config?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  status?: ConnectionStatus;
  status_message?: string | null;
  checked_at?: number;
}

/** What an operator does about secrets no configured key decrypts (part of every such error). */
export const UNDECRYPTABLE_FIX =
  'set OPSTRAILS_SECRET_KEY_PREVIOUS to the key they were stored under and restart (then run ' +
  '`opstrails-impact rotate-secrets`); if that key is lost, run `opstrails-impact rotate-secrets ' +
  '--reset-unreadable` and re-enter them';

/** A connection named in a scan of stored secrets (ids only: never a secret or a key). */
export interface ConnectionRef {
  org_id: string;
  connection_id: string;
}

/** A connection whose secrets no configured key decrypts, and why (the key id they name, if any). */
export interface UnreadableSecrets extends ConnectionRef {
  key_id: string | null;
  reason: string;
}

/** How the stored secrets of every org stand against the configured keys. */
export interface SecretsScan {
  /** Sealed under the current key. */
  current: ConnectionRef[];
  /** Readable, but under a previous key or in the format without a key id (a `reseal` scan re-encrypted them). */
  stale: ConnectionRef[];
  /** Readable with no configured key. */
  unreadable: UnreadableSecrets[];
}

export class ConnectionRepository {
  private readonly rows: DeletableTable<Row>;

  constructor(
    backend: Backend,
    db: string,
    private readonly box: SecretBox,
    now: () => number = Date.now,
  ) {
    this.rows = new DeletableTable<Row>(backend, `${db}.connections`, ['connection_id'], now);
  }

  async create(
    orgId: string,
    input: { provider: string; name: string; config: Record<string, unknown>; secrets: Record<string, unknown> },
  ): Promise<Connection> {
    const id = `con_${randomUUID().replaceAll('-', '')}`;
    const at = this.rows.version();
    const row: Row = {
      org_id: orgId,
      connection_id: id,
      provider: input.provider,
      name: input.name,
      config: JSON.stringify(input.config),
      secrets: this.box.seal(input.secrets, `${orgId}/${id}`),
      status: 'unchecked',
      status_message: '',
      checked_at: null,
      created_at: at,
      updated_at: at,
      deleted: 0,
    };
    await this.rows.put(row);
    return toConnection(row);
  }

  async get(orgId: string, id: string): Promise<Connection | undefined> {
    const row = await this.rows.get(orgId, id);
    return row && toConnection(row);
  }

  async list(orgId: string): Promise<Connection[]> {
    return (await this.rows.list(orgId)).map(toConnection);
  }

  /**
   * The decrypted secrets of a connection (for building its connector only). Secrets
   * read under a previous key are written back under the current one. Throws
   * SecretUndecryptableError when no configured key opens them.
   */
  async secrets(orgId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.rows.get(orgId, id);
    if (!row) return undefined;
    const { value, stale } = this.unseal(row);
    if (stale) await this.reseal(row, value);
    return value;
  }

  /** The keys secrets are sealed (first) and opened with: ids and where they come from, never the keys. */
  keys(): KeyDescription[] {
    return this.box.describeKeys();
  }

  /**
   * Every org's connections against the configured keys, without a secret leaving:
   * which are under the current key, which under a previous one, which under none.
   * With `reseal`, the stale ones are re-encrypted under the current key;
   * `resetUnreadable` replaces unreadable ones with empty secrets and marks the
   * connection failing, so an admin can enter them again.
   */
  async scanSecrets(opts: { reseal?: boolean; resetUnreadable?: boolean } = {}): Promise<SecretsScan> {
    const rows = await this.rows.select('1 = 1', {}, 'ORDER BY org_id, connection_id');
    const scan: SecretsScan = { current: [], stale: [], unreadable: [] };
    for (const row of rows) {
      const ref = { org_id: row.org_id, connection_id: row.connection_id };
      let opened;
      try {
        opened = this.unseal(row);
      } catch (err) {
        if (!(err instanceof SecretUndecryptableError)) throw err;
        if (opts.resetUnreadable) {
          await this.update(row.org_id, row.connection_id, {
            secrets: {},
            status: 'failing',
            status_message:
              'its secrets could not be decrypted with any configured key and were cleared: ' +
              'enter them again (PATCH /v1/connections/{id}), then check the connection',
          });
        }
        scan.unreadable.push({ ...ref, key_id: err.keyId, reason: (err.cause as Error).message });
        continue;
      }
      if (!opened.stale) {
        scan.current.push(ref);
        continue;
      }
      if (opts.reseal) await this.reseal(row, opened.value);
      scan.stale.push(ref);
    }
    return scan;
  }

  async update(orgId: string, id: string, patch: ConnectionPatch): Promise<Connection | undefined> {
    const row = await this.rows.get(orgId, id);
    if (!row) return undefined;
    const next: Row = {
      ...row,
      name: patch.name ?? row.name,
      config: patch.config ? JSON.stringify(patch.config) : row.config,
      secrets: patch.secrets ? this.box.seal(patch.secrets, `${orgId}/${id}`) : row.secrets,
      status: patch.status ?? row.status,
      status_message: patch.status_message === undefined ? row.status_message : (patch.status_message ?? ''),
      checked_at: patch.checked_at === undefined ? row.checked_at : chTime(patch.checked_at),
      updated_at: this.rows.version(),
    };
    await this.rows.put(next);
    return toConnection(next);
  }

  /** Open a row's secrets, or throw SecretUndecryptableError naming the connection and the fix. */
  private unseal(row: Row): { value: Record<string, unknown>; stale: boolean } {
    try {
      return this.box.unseal<Record<string, unknown>>(row.secrets, `${row.org_id}/${row.connection_id}`);
    } catch (err) {
      if (!(err instanceof SecretUndecryptableError)) throw err;
      throw new SecretUndecryptableError(
        `the secrets of connection ${row.connection_id} cannot be decrypted with the configured keys ` +
          `(${err.message}): ${UNDECRYPTABLE_FIX}`,
        err.keyId,
        { cause: err, orgId: row.org_id, connectionId: row.connection_id },
      );
    }
  }

  /**
   * Write `value` back under the current key as the same version of the row: an
   * update made since (a PATCH, a check) has a newer version and wins, and
   * updated_at, which callers cache connectors by, does not move. Among equal
   * versions ClickHouse keeps the last inserted, this one.
   */
  private async reseal(row: Row, value: Record<string, unknown>): Promise<void> {
    await this.rows.put({ ...row, secrets: this.box.seal(value, `${row.org_id}/${row.connection_id}`) });
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const row = await this.rows.get(orgId, id);
    if (!row) return false;
    await this.rows.remove(row);
    return true;
  }
}

function toConnection(r: Row): Connection {
  return {
    id: r.connection_id,
    org_id: r.org_id,
    provider: r.provider,
    name: r.name,
    config: JSON.parse(r.config),
    status: r.status,
    status_message: r.status_message || null,
    checked_at: r.checked_at ? isoTime(r.checked_at) : null,
    created_at: isoTime(r.created_at),
    updated_at: isoTime(r.updated_at),
  };
}
