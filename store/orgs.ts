// Orgs and API keys. Keys are stored only as a SHA-256 hash with a lookup
// prefix; the full key is shown once, at creation.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Backend } from './backend.js';
import type { Plan } from '../domain/plan.js';
import { chTime, fromChTime } from './migrations.js';

export const SCOPES = ['events:write', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Org {
  id: string;
  name: string;
  plan: Plan;
  created_at: string;
}

export interface ApiKey {
  id: string;
  org_id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

interface KeyRow {
  org_id: string;
  key_id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const iso = (text: string) => new Date(fromChTime(text)).toISOString();
const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** A new high-entropy key: "otk_" + 12-char lookup prefix + "_" + 43 chars (256 bits). */
export function generateKey(): { key: string; prefix: string } {
  const prefix = randomBytes(9).toString('base64url');
  return { key: `otk_${prefix}_${randomBytes(32).toString('base64url')}`, prefix };
}

/** The lookup prefix of a presented key, or undefined if it is not shaped like ours. */
export function keyPrefix(key: string): string | undefined {
  const m = /^otk_([A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  return m?.[1];
}

/** Constant-time comparison of two strings (of any length). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class OrgRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
  ) {}

  /** Create an org. */
  async create(name: string, plan: Plan, now = Date.now()): Promise<Org> {
    const org = {
      org_id: `org_${randomUUID().replaceAll('-', '')}`,
      name,
      plan,
      created_at: chTime(now),
      updated_at: chTime(now),
    };
    await this.backend.insert(`${this.db}.orgs`, [org]);
    return { id: org.org_id, name, plan, created_at: new Date(now).toISOString() };
  }

  /** One org by id. */
  async get(orgId: string): Promise<Org | undefined> {
    const rows = await this.backend.query<{ org_id: string; name: string; plan: Plan; created_at: string }>(
      `SELECT org_id, name, plan, created_at FROM ${this.db}.orgs FINAL WHERE org_id = {org:String}`,
      { org: orgId },
    );
    return rows.map((r) => ({ id: r.org_id, name: r.name, plan: r.plan, created_at: iso(r.created_at) }))[0];
  }

  /** Number of orgs (used to bootstrap the embedded default). */
  async count(): Promise<number> {
    const [row] = await this.backend.query<{ n: string }>(`SELECT count() AS n FROM ${this.db}.orgs FINAL`);
    return Number(row?.n ?? 0);
  }
}

export class KeyRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
  ) {}

  /** Create a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(orgId: string, name: string, scopes: Scope[], now = Date.now()): Promise<ApiKey & { key: string }> {
    const { key, prefix } = generateKey();
    const row: KeyRow & { updated_at: string } = {
      org_id: orgId,
      key_id: `key_${randomUUID().replaceAll('-', '')}`,
      name,
      scopes,
      prefix,
      hash: hashKey(key),
      created_at: chTime(now),
      last_used_at: null,
      revoked_at: null,
      updated_at: chTime(now),
    };
    await this.backend.insert(`${this.db}.api_keys`, [row]);
    return { ...toApiKey(row), key };
  }

  /** Active keys of an org (no secrets). */
  async list(orgId: string): Promise<ApiKey[]> {
    const rows = await this.backend.query<KeyRow>(
      `SELECT * FROM ${this.db}.api_keys FINAL
       WHERE org_id = {org:String} AND revoked_at IS NULL ORDER BY created_at, key_id`,
      { org: orgId },
    );
    return rows.map(toApiKey);
  }

  /** Revoke a key of this org; false when the org has no such active key. */
  async revoke(orgId: string, keyId: string, now = Date.now()): Promise<boolean> {
    const row = await this.row(orgId, keyId);
    if (!row || row.revoked_at) return false;
    await this.backend.insert(`${this.db}.api_keys`, [{ ...row, revoked_at: chTime(now), updated_at: chTime(now) }]);
    return true;
  }

  /** Record use (callers throttle this). */
  async touch(orgId: string, keyId: string, now = Date.now()): Promise<void> {
    const row = await this.row(orgId, keyId);
    if (!row || row.revoked_at) return;
    await this.backend.insert(`${this.db}.api_keys`, [{ ...row, last_used_at: chTime(now), updated_at: chTime(now) }]);
  }

  /** Resolve a presented key to its active record, comparing hashes in constant time. */
  async authenticate(key: string): Promise<ApiKey | undefined> {
    const prefix = keyPrefix(key);
    if (!prefix) return undefined;
    // Lookup by prefix is the one query not scoped by org: the org is what it finds.
    const rows = await this.backend.query<KeyRow>(
      `SELECT * FROM ${this.db}.api_keys FINAL WHERE prefix = {prefix:String} AND revoked_at IS NULL`,
      { prefix },
    );
    const presented = hashKey(key);
    const match = rows.find((r) => safeEqual(r.hash, presented));
    return match ? toApiKey(match) : undefined;
  }

  private async row(orgId: string, keyId: string): Promise<KeyRow | undefined> {
    const rows = await this.backend.query<KeyRow>(
      `SELECT * FROM ${this.db}.api_keys FINAL WHERE org_id = {org:String} AND key_id = {id:String}`,
      { org: orgId, id: keyId },
    );
    return rows[0];
  }
}

function toApiKey(r: KeyRow): ApiKey {
  return {
    id: r.key_id,
    org_id: r.org_id,
    name: r.name,
    scopes: r.scopes,
    prefix: r.prefix,
    created_at: iso(r.created_at),
    last_used_at: r.last_used_at ? iso(r.last_used_at) : null,
  };
}
