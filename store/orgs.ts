// Orgs and API keys. Keys are stored only as a SHA-256 hash with a lookup
// prefix; the full key is shown once, at creation.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Backend } from './backend.js';
import type { Plan } from '../domain/plan.js';
import { SecretUndecryptableError, type SecretBox } from './secrets.js';
import { chTime, fromChTime } from './migrations.js';
import { isoTime, VersionedTable, type VersionedRow } from './versioned.js';

export const SCOPES = ['events:write', 'read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Org {
  id: string;
  name: string;
  plan: Plan;
  created_at: string;
  /** Where the org's notifications (usage alerts) are POSTed; null: none. */
  notify_url: string | null;
}

/** An org's notification webhook with its signing secret (unsealed): for the sender only. */
export interface NotifyTarget {
  url: string;
  secret: string;
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

/** A revocation as revokedSince reports it: the key and its version's time (epoch ms). */
export interface KeyRevocation {
  org_id: string;
  key_id: string;
  at: number;
}

/** A row of api_keys (migration 1). */
interface KeyRow extends VersionedRow {
  key_id: string;
  name: string;
  scopes: Scope[];
  prefix: string;
  hash: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

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

/** A row of orgs (migrations 1 and 7). */
interface OrgRow {
  org_id: string;
  name: string;
  plan: Plan;
  created_at: string;
  updated_at: string;
  notify_url: string;
  /** The webhook's signing secret, sealed (store/secrets.ts); '' with no webhook. */
  notify_secret: string;
}

/** The sealing context of a webhook secret: a sealed value moved to another org does not open. */
const notifyContext = (orgId: string) => `org:${orgId}:notify`;

/**
 * Orgs, keyed by org_id alone (no (org, id) pair, so not a VersionedTable): a change (plan,
 * name) inserts a newer version of the org's row, which FINAL reads keep.
 */
export class OrgRepository {
  constructor(
    private readonly backend: Backend,
    private readonly db: string,
    private readonly box: SecretBox,
  ) {}

  /** Create an org. */
  async create(name: string, plan: Plan, now = Date.now()): Promise<Org> {
    const row: OrgRow = {
      org_id: `org_${randomUUID().replaceAll('-', '')}`,
      name,
      plan,
      created_at: chTime(now),
      updated_at: chTime(now),
      notify_url: '',
      notify_secret: '',
    };
    await this.backend.insert(`${this.db}.orgs`, [row]);
    return toOrg(row);
  }

  /** One org by id. */
  async get(orgId: string): Promise<Org | undefined> {
    return (await this.rows('WHERE org_id = {org:String}', { org: orgId })).map(toOrg)[0];
  }

  /** Every org, oldest first. */
  async list(): Promise<Org[]> {
    return (await this.rows('ORDER BY created_at, org_id')).map(toOrg);
  }

  /** Change an org's plan or name; undefined when there is no such org. */
  async update(orgId: string, change: { plan?: Plan; name?: string }, now = Date.now()): Promise<Org | undefined> {
    return this.write(orgId, now, (current) => ({
      name: change.name ?? current.name,
      plan: change.plan ?? current.plan,
    }));
  }

  /**
   * Set the org's notification webhook (a new signing secret each time, returned unsealed: it
   * is shown once) or remove it (null). Undefined when there is no such org.
   */
  async setNotify(
    orgId: string,
    url: string | null,
    now = Date.now(),
  ): Promise<{ org: Org; secret: string | null } | undefined> {
    const secret = url === null ? null : `whsec_${randomBytes(32).toString('base64url')}`;
    const org = await this.write(orgId, now, () => ({
      notify_url: url ?? '',
      notify_secret: secret === null ? '' : this.box.seal(secret, notifyContext(orgId)),
    }));
    return org && { org, secret };
  }

  /** The org's webhook and its secret, unsealed; undefined when it has none. Throws when no configured key opens it. */
  async notifyTarget(orgId: string): Promise<NotifyTarget | undefined> {
    const [row] = await this.rows('WHERE org_id = {org:String}', { org: orgId });
    if (!row || row.notify_url === '') return undefined;
    return { url: row.notify_url, secret: this.box.open<string>(row.notify_secret, notifyContext(orgId)) };
  }

  /**
   * Re-encrypt every webhook secret sealed under a previous key (rotate-secrets), as the same
   * version of the org's row (a change made since has a newer version and wins). Secrets no
   * configured key opens are listed by org; with `resetUnreadable` their webhook is removed, for
   * an admin to set again. Returns the counts.
   */
  async resealNotifySecrets(opts: { resetUnreadable?: boolean } = {}): Promise<{
    resealed: number;
    current: number;
    unreadable: string[];
  }> {
    const result = { resealed: 0, current: 0, unreadable: [] as string[] };
    for (const row of await this.rows("WHERE notify_secret != '' ORDER BY org_id")) {
      let opened;
      try {
        opened = this.box.unseal<string>(row.notify_secret, notifyContext(row.org_id));
      } catch (err) {
        if (!(err instanceof SecretUndecryptableError)) throw err;
        result.unreadable.push(row.org_id);
        if (opts.resetUnreadable)
          await this.write(row.org_id, Date.now(), () => ({ notify_url: '', notify_secret: '' }));
        continue;
      }
      if (!opened.stale) {
        result.current++;
        continue;
      }
      const notify_secret = this.box.seal(opened.value, notifyContext(row.org_id));
      await this.backend.insert(`${this.db}.orgs`, [{ ...row, notify_secret }]);
      result.resealed++;
    }
    return result;
  }

  /**
   * Write a newer version of the org's row with `change` applied. It is stamped after the current
   * one, so two changes within a millisecond keep their order.
   */
  private async write(
    orgId: string,
    now: number,
    change: (current: OrgRow) => Partial<OrgRow>,
  ): Promise<Org | undefined> {
    const [current] = await this.rows('WHERE org_id = {org:String}', { org: orgId });
    if (!current) return undefined;
    const row: OrgRow = {
      ...current,
      ...change(current),
      updated_at: chTime(Math.max(now, fromChTime(current.updated_at) + 1)),
    };
    await this.backend.insert(`${this.db}.orgs`, [row]);
    return toOrg(row);
  }

  /** Number of orgs (used to bootstrap the embedded default). */
  async count(): Promise<number> {
    const [row] = await this.backend.query<{ n: string }>(`SELECT count() AS n FROM ${this.db}.orgs FINAL`);
    return Number(row?.n ?? 0);
  }

  private rows(where: string, params: Record<string, string> = {}): Promise<OrgRow[]> {
    return this.backend.query<OrgRow>(
      `SELECT org_id, name, plan, created_at, updated_at, notify_url, notify_secret FROM ${this.db}.orgs FINAL ${where}`,
      params,
    );
  }
}

function toOrg(r: OrgRow): Org {
  return {
    id: r.org_id,
    name: r.name,
    plan: r.plan,
    created_at: isoTime(r.created_at),
    notify_url: r.notify_url === '' ? null : r.notify_url,
  };
}

/** API keys: a versioned table (a revocation or a use is a newer version of the key's row). */
export class KeyRepository {
  private readonly rows: VersionedTable<KeyRow>;

  constructor(
    private readonly backend: Backend,
    db: string,
    now: () => number = Date.now,
  ) {
    this.rows = new VersionedTable<KeyRow>(backend, `${db}.api_keys`, ['key_id'], now);
  }

  /** Create a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(orgId: string, name: string, scopes: Scope[], now = Date.now()): Promise<ApiKey & { key: string }> {
    const { key, prefix } = generateKey();
    const row: KeyRow = {
      org_id: orgId,
      key_id: `key_${randomUUID().replaceAll('-', '')}`,
      name,
      scopes,
      prefix,
      hash: hashKey(key),
      created_at: chTime(now),
      last_used_at: null,
      revoked_at: null,
      updated_at: this.rows.version(),
    };
    await this.rows.put(row);
    return { ...toApiKey(row), key };
  }

  /** Active keys of an org (no secrets). */
  async list(orgId: string): Promise<ApiKey[]> {
    return (await this.rows.list(orgId, 'revoked_at IS NULL')).map(toApiKey);
  }

  /** Revoke a key of this org; false when the org has no such active key. */
  async revoke(orgId: string, keyId: string, now = Date.now()): Promise<boolean> {
    const row = await this.rows.get(orgId, keyId);
    if (!row || row.revoked_at) return false;
    await this.rows.put({ ...row, revoked_at: chTime(now), updated_at: this.nextVersion(row) });
    return true;
  }

  /** Revoke every active key of an org (its deletion); returns how many were revoked. */
  async revokeAll(orgId: string, now = Date.now()): Promise<number> {
    const active = await this.rows.list(orgId, 'revoked_at IS NULL');
    await this.rows.insert(
      active.map((row) => ({ ...row, revoked_at: chTime(now), updated_at: this.nextVersion(row) })),
    );
    return active.length;
  }

  /** Record use (callers throttle this). */
  async touch(orgId: string, keyId: string, now = Date.now()): Promise<void> {
    const row = await this.rows.get(orgId, keyId);
    if (!row || row.revoked_at) return;
    await this.rows.put({ ...row, last_used_at: chTime(now), updated_at: this.nextVersion(row) });
  }

  /**
   * Keys revoked by a version written after `since` (epoch ms, the row's updated_at), oldest
   * first, at most `limit`: how a process learns of revocations made elsewhere. Every version
   * counts (no FINAL): a revocation is final, whatever was written after it.
   */
  async revokedSince(since: number, limit: number): Promise<KeyRevocation[]> {
    const rows = await this.backend.query<{ org_id: string; key_id: string; at: string }>(
      `SELECT org_id, key_id, toUnixTimestamp64Milli(updated_at) AS at FROM ${this.rows.table}
       WHERE revoked_at IS NOT NULL AND updated_at > fromUnixTimestamp64Milli({since:Int64})
       ORDER BY updated_at LIMIT {limit:UInt32}`,
      { since: Math.floor(since), limit },
    );
    return rows.map((r) => ({ org_id: r.org_id, key_id: r.key_id, at: Number(r.at) }));
  }

  /** Resolve a presented key to its active record, comparing hashes in constant time. */
  async authenticate(key: string): Promise<ApiKey | undefined> {
    const prefix = keyPrefix(key);
    if (!prefix) return undefined;
    // Lookup by prefix is the one query not scoped by org: the org is what it finds.
    const rows = await this.rows.select('prefix = {prefix:String} AND revoked_at IS NULL', { prefix });
    const presented = hashKey(key);
    const match = rows.find((r) => safeEqual(r.hash, presented));
    return match ? toApiKey(match) : undefined;
  }

  /** A version after the row's current one, so a revocation is never lost to an earlier-clocked use. */
  private nextVersion(row: KeyRow): string {
    return chTime(this.rows.versionMs(fromChTime(row.updated_at)));
  }
}

function toApiKey(r: KeyRow): ApiKey {
  return {
    id: r.key_id,
    org_id: r.org_id,
    name: r.name,
    scopes: r.scopes,
    prefix: r.prefix,
    created_at: isoTime(r.created_at),
    last_used_at: r.last_used_at ? isoTime(r.last_used_at) : null,
  };
}
