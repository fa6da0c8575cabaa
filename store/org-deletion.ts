// Deleting an org: its keys stop first, then every row it has in every table of ORG_TABLES goes,
// the orgs row last, so a deletion cut short (a crash, a late write) can be repeated until done.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from './index.js';
import { ORG_TABLES } from './org-tables.js';

/** Rows removed per table (physical rows: every stored version counts). */
export type RowsRemoved = Record<string, number>;

export interface OrgDeletionOptions {
  /**
   * How long to wait after revoking the keys before their rows are deleted: long enough for every
   * replica to have read the revocations or to distrust its cached keys (api/auth.ts KEY_FRESH_MS).
   */
  propagationMs: number;
  now: () => number;
  /** Called right after the keys are revoked (this process's key cache drops them at once). */
  onKeysRevoked?: () => void;
  /** Resolves once work already started for the org (scheduler jobs, report computations) has finished. */
  settle?: (orgId: string) => Promise<unknown>;
}

/** Rows of the org were written while it was being deleted; its orgs row is kept so a retry finishes. */
export class OrgDeletionIncompleteError extends Error {
  readonly code = 'deletion_incomplete';
  constructor(
    readonly orgId: string,
    /** Rows left per table, after the final pass. */
    readonly remaining: RowsRemoved,
  ) {
    super(`rows of ${orgId} were written while it was being deleted: ${JSON.stringify(remaining)}`);
    this.name = 'OrgDeletionIncompleteError';
  }
}

/**
 * Every table but orgs, in ORG_TABLES order: what drives the scheduler (connections, metrics,
 * events) goes before what it derives, so a job still running finds its inputs gone.
 */
const DATA_TABLES = ORG_TABLES.map((t) => t.name).filter((name) => name !== 'orgs');

/**
 * Delete an org and all its rows; undefined when there is no such org. Its keys are revoked
 * first (other replicas' revocation feeds drop their cached copies), then, after
 * `propagationMs`, every table is emptied of the org; once whatever the scheduler had started
 * has settled, a final pass deletes what it wrote meanwhile, and only when every table holds
 * none of the org's rows does its orgs row go. Throws OrgDeletionIncompleteError otherwise.
 */
export async function deleteOrg(
  store: Store,
  orgId: string,
  opts: OrgDeletionOptions,
): Promise<RowsRemoved | undefined> {
  if (!(await store.orgs.get(orgId))) return undefined;
  await store.keys.revokeAll(orgId, opts.now());
  opts.onKeysRevoked?.();
  // A replica that has not read the revocation yet trusts its cache; once the key rows are gone
  // there is nothing left for it to read, so they stay until every replica has had its chance.
  if (opts.propagationMs > 0) await sleep(opts.propagationMs);

  const removed = await deleteRows(store, orgId, DATA_TABLES);
  await opts.settle?.(orgId);
  for (const [table, rows] of Object.entries(await deleteRows(store, orgId, DATA_TABLES))) removed[table] += rows;
  await expectNone(store, orgId, DATA_TABLES);
  Object.assign(removed, await deleteRows(store, orgId, ['orgs']));
  // A change of the org (PATCH) racing the deletion could write its row again.
  await expectNone(store, orgId, ['orgs']);
  store.orgCache.forget(orgId);
  return removed;
}

/** Delete the org's rows from each table in turn; returns the rows each held. */
async function deleteRows(store: Store, orgId: string, tables: readonly string[]): Promise<RowsRemoved> {
  const removed: RowsRemoved = {};
  for (const table of tables) {
    removed[table] = await countIn(store, orgId, table);
    await store.mutate(`ALTER TABLE ${store.database}.${table} DELETE WHERE org_id = {org:String}`, { org: orgId });
  }
  return removed;
}

/** Throw OrgDeletionIncompleteError when any of the tables still holds rows of the org. */
async function expectNone(store: Store, orgId: string, tables: readonly string[]): Promise<void> {
  const remaining: RowsRemoved = {};
  for (const table of tables) {
    const rows = await countIn(store, orgId, table);
    if (rows > 0) remaining[table] = rows;
  }
  if (Object.keys(remaining).length > 0) throw new OrgDeletionIncompleteError(orgId, remaining);
}

/** Physical rows (no FINAL): versions and tombstones are the org's data too. */
async function countIn(store: Store, orgId: string, table: string): Promise<number> {
  const [row] = await store.backend.query<{ n: string }>(
    `SELECT count() AS n FROM ${store.database}.${table} WHERE org_id = {org:String}`,
    { org: orgId },
  );
  return Number(row?.n ?? 0);
}
