// Connections: a provider, its non-secret config (JSON) and its secrets, sealed
// with AES-256-GCM. Secrets leave this repository only through `secrets()`.
import { randomUUID } from 'node:crypto';
import type { Backend } from './backend.js';
import { chTime } from './migrations.js';
import type { SecretBox } from './secrets.js';
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

  /** The decrypted secrets of a connection (for building its connector only). */
  async secrets(orgId: string, id: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.rows.get(orgId, id);
    return row && this.box.open<Record<string, unknown>>(row.secrets, `${orgId}/${id}`);
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
