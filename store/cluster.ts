// The schema on a ClickHouse cluster (CLICKHOUSE_CLUSTER): each single-server DDL statement of
// the migrations becomes its cluster form, and queries get the settings the layout relies on.
// docs/clickhouse-cluster.md explains the layout; the repositories' SQL does not change.
import type { ClickHouseSettings } from '@clickhouse/client';
import { StoreError } from './backend.js';

/**
 * Tables that belong to no org (the migrations record, the scheduler lease): one replicated
 * table that every node of the cluster holds in full, read on the node queried, never sharded.
 */
export const CLUSTER_WIDE_TABLES: readonly string[] = ['schema_migrations', 'leases'];

/** The local (Replicated) table behind the Distributed table of an org-owned table. */
export function localTable(name: string): string {
  return `${name}_local`;
}

/** The rows of one org live on one shard, so FINAL and ReplacingMergeTree versions hold per shard. */
export const SHARDING_KEY = 'cityHash64(org_id)';

/**
 * Settings of every query the service sends to a cluster:
 * - insert_distributed_sync: an INSERT into a Distributed table returns once each shard has its
 *   rows (the service reads its writes at once); the older name of distributed_foreground_insert,
 *   accepted by old and new servers alike;
 * - load_balancing in_order, prefer_localhost_replica 0: every node the service talks to reads and
 *   writes the same (first healthy) replica of each shard, so no read lands on a replica that has
 *   not fetched a part yet;
 * - distributed_product_mode local: an IN subquery over a Distributed table runs on each shard's
 *   local table, right because both sides are sharded by org;
 * - distributed_ddl_task_timeout: an ON CLUSTER statement fails with ClickHouse's own message
 *   (naming the hosts that did not answer) before the client's 60 s request timeout.
 */
export const CLUSTER_SETTINGS = {
  insert_distributed_sync: 1,
  load_balancing: 'in_order',
  prefer_localhost_replica: 0,
  distributed_product_mode: 'local',
  distributed_ddl_task_timeout: '50',
} satisfies ClickHouseSettings;

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const CREATE_DATABASE = new RegExp(`^CREATE DATABASE IF NOT EXISTS (${IDENT})$`);
const CREATE_TABLE = new RegExp(`^CREATE TABLE IF NOT EXISTS (${IDENT})\\.(${IDENT}) \\(`);
const ALTER_TABLE = new RegExp(`^ALTER TABLE (${IDENT})\\.(${IDENT}) `);
// The engine clause of a MergeTree-family table: name and optional (version, is_deleted) arguments.
const ENGINE = /ENGINE = (\w*MergeTree)(?:\(([^()]*)\))?/;

/**
 * One single-server DDL statement (database already substituted) as the statements to run on
 * `cluster`, in order. Throws on a statement it does not know how to place, so a new kind of
 * migration statement is taught here rather than run unsharded by accident.
 */
export function clusterDdl(statement: string, cluster: string): string[] {
  const sql = statement.trim();
  const onCluster = `ON CLUSTER ${cluster}`;

  const database = CREATE_DATABASE.exec(sql);
  if (database) return [`${sql} ${onCluster}`];

  const create = CREATE_TABLE.exec(sql);
  if (create) {
    const [head, db, name] = create;
    const engine = ENGINE.exec(sql);
    if (!engine) throw new StoreError(`cluster DDL: ${db}.${name} is not a MergeTree-family table`);
    const [clause, family, args] = engine;
    const versionArgs = args?.trim() ? `, ${args.trim()}` : '';
    const body = sql.slice(head.length - 1); // from the column list's "(" on
    if (CLUSTER_WIDE_TABLES.includes(name)) {
      // One Keeper path without {shard}: every node of every shard is a replica of the same table.
      // Replica names need only be unique within a shard, so the shard makes them unique cluster-wide.
      const replicated = `Replicated${family}('/clickhouse/tables/all/{database}/${name}', '{shard}-{replica}'${versionArgs})`;
      return [
        `CREATE TABLE IF NOT EXISTS ${db}.${name} ${onCluster} ${body.replace(clause, () => `ENGINE = ${replicated}`)}`,
      ];
    }
    const local = localTable(name);
    const replicated = `Replicated${family}('/clickhouse/tables/{shard}/{database}/${name}', '{replica}'${versionArgs})`;
    return [
      `CREATE TABLE IF NOT EXISTS ${db}.${local} ${onCluster} ${body.replace(clause, () => `ENGINE = ${replicated}`)}`,
      `CREATE TABLE IF NOT EXISTS ${db}.${name} ${onCluster} AS ${db}.${local}
      ENGINE = Distributed(${cluster}, ${db}, ${local}, ${SHARDING_KEY})`,
    ];
  }

  const alter = ALTER_TABLE.exec(sql);
  if (alter) {
    const [head, db, name] = alter;
    // Indexes, TTLs and mutations belong to the tables that hold the data; on a Replicated table
    // ClickHouse runs such an ALTER ON CLUSTER on one replica per shard and replication does the rest.
    const rest = sql.slice(head.length);
    if (CLUSTER_WIDE_TABLES.includes(name)) return [`ALTER TABLE ${db}.${name} ${onCluster} ${rest}`];
    const local = `ALTER TABLE ${db}.${localTable(name)} ${onCluster} ${rest}`;
    // A Distributed table has its own column list: a column added to the data is added to it too.
    return /^ADD COLUMN /.test(rest) ? [local, `ALTER TABLE ${db}.${name} ${onCluster} ${rest}`] : [local];
  }

  throw new StoreError(`cluster DDL: no cluster form for: ${sql.split('\n')[0]}`);
}
