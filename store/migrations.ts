// Versioned, idempotent schema migrations applied at start-up. Every table keeps
// org_id first in its ORDER BY. `{db}` is replaced by the store's database name.
// The statements are written for one server; on a cluster each runs in its cluster form.
import { identifier, type Backend } from './backend.js';
import { clusterDdl } from './cluster.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'orgs, api keys, events',
    statements: [
      `CREATE TABLE IF NOT EXISTS {db}.orgs (
        org_id String,
        name String,
        plan LowCardinality(String),
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY org_id`,
      `CREATE TABLE IF NOT EXISTS {db}.api_keys (
        org_id String,
        key_id String,
        name String,
        scopes Array(LowCardinality(String)),
        prefix String,
        hash String,
        created_at DateTime64(3, 'UTC'),
        last_used_at Nullable(DateTime64(3, 'UTC')),
        revoked_at Nullable(DateTime64(3, 'UTC')),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, key_id)`,
      // (org, source, id) identifies an event; ReplacingMergeTree keeps one row
      // even if two processes race on the same retry. raw is the event as sent.
      `CREATE TABLE IF NOT EXISTS {db}.events (
        org_id String,
        source String,
        id String,
        type LowCardinality(String),
        subject String,
        time DateTime64(3, 'UTC'),
        version String,
        severity LowCardinality(String),
        raw String CODEC(ZSTD(3)),
        received_at DateTime64(3, 'UTC'),
        INDEX idx_time time TYPE minmax GRANULARITY 1,
        INDEX idx_id id TYPE bloom_filter GRANULARITY 4
      ) ENGINE = ReplacingMergeTree(received_at) ORDER BY (org_id, source, id)`,
    ],
  },
  {
    version: 2,
    name: 'metric points with retention by plan',
    statements: [
      // Re-fetching a window inserts newer fetched_at versions of the same
      // (org, metric, ts): ReplacingMergeTree keeps the newest, never duplicates.
      // A point the provider no longer reports is replaced by a newer row with
      // is_deleted = 1, which FINAL reads drop.
      // series tells apart the series of one metric whose query uses event
      // values ({{subject}}, ...): e.g. "subject=production"; '' when it uses none.
      `CREATE TABLE IF NOT EXISTS {db}.metric_points (
        org_id String,
        metric_id String,
        series String,
        ts DateTime64(3, 'UTC'),
        value Float64,
        weight Nullable(Float64),
        fetched_at DateTime64(3, 'UTC'),
        is_deleted UInt8 DEFAULT 0,
        retention_days UInt16
      ) ENGINE = ReplacingMergeTree(fetched_at, is_deleted)
      ORDER BY (org_id, metric_id, series, ts)
      TTL toDateTime(ts) + toIntervalDay(retention_days)`,
    ],
  },
  {
    version: 3,
    name: 'connections and metrics',
    statements: [
      // Secrets are AES-256-GCM ciphertext (store/secrets.ts); config is JSON.
      `CREATE TABLE IF NOT EXISTS {db}.connections (
        org_id String,
        connection_id String,
        provider LowCardinality(String),
        name String,
        config String,
        secrets String,
        status LowCardinality(String),
        status_message String,
        checked_at Nullable(DateTime64(3, 'UTC')),
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        deleted UInt8
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, connection_id)`,
      `CREATE TABLE IF NOT EXISTS {db}.metrics (
        org_id String,
        metric_id String,
        connection_id String,
        name String,
        kind LowCardinality(String),
        query String,
        direction LowCardinality(String),
        unit String,
        step_seconds UInt32,
        threshold Float64,
        critical UInt8,
        applies_to String,
        windows String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC'),
        deleted UInt8
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, metric_id)`,
    ],
  },
  {
    version: 4,
    name: 'scheduler: fetch jobs and impact pairs',
    statements: [
      // One fetch of one metric series over [window_from, window_to); every state
      // change inserts a newer version (updated_at), so a crash leaves the last one.
      `CREATE TABLE IF NOT EXISTS {db}.fetch_jobs (
        org_id String,
        job_id String,
        connection_id String,
        metric_id String,
        series String,
        vars String,
        kind LowCardinality(String),
        backfill_id String,
        window_from DateTime64(3, 'UTC'),
        window_to DateTime64(3, 'UTC'),
        state LowCardinality(String),
        attempts UInt16,
        due_at DateTime64(3, 'UTC'),
        run_at DateTime64(3, 'UTC'),
        last_error String,
        last_error_code LowCardinality(String),
        fetched_at Nullable(DateTime64(3, 'UTC')),
        points UInt32,
        requests UInt32,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, job_id)`,
      // One row per (event, metric): which windows it needs, whether their data is
      // in (ready), and a revision bumped each time late data changed them.
      `CREATE TABLE IF NOT EXISTS {db}.impact_pairs (
        org_id String,
        event_source String,
        event_id String,
        metric_id String,
        connection_id String,
        series String,
        event_type String,
        event_time DateTime64(3, 'UTC'),
        windows String,
        state LowCardinality(String),
        revision UInt32,
        ready_at Nullable(DateTime64(3, 'UTC')),
        last_error String,
        created_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, metric_id, event_source, event_id)`,
    ],
  },
  {
    version: 5,
    name: 'impact reports',
    statements: [
      // One computed report per event (all its metrics: q-values are across
      // them), read as stored so polling never recomputes. etag changes when
      // the report does.
      `CREATE TABLE IF NOT EXISTS {db}.impact_reports (
        org_id String,
        event_source String,
        event_id String,
        event_time DateTime64(3, 'UTC'),
        status LowCardinality(String),
        verdict LowCardinality(String),
        worst_metric String,
        report String CODEC(ZSTD(3)),
        charts String CODEC(ZSTD(3)),
        etag String,
        retry_after_s UInt32,
        computed_at DateTime64(3, 'UTC'),
        INDEX idx_time event_time TYPE minmax GRANULARITY 1
      ) ENGINE = ReplacingMergeTree(computed_at) ORDER BY (org_id, event_source, event_id)`,
    ],
  },
  {
    version: 6,
    name: 'replicas: scheduler lease, change feeds by time',
    statements: [
      // One row per claim of a named lease (scheduler/lease.ts): the holder of the highest
      // term runs the scheduler until expires_at; a renewal is a newer version of its row.
      `CREATE TABLE IF NOT EXISTS {db}.leases (
        name String,
        term UInt64,
        holder String,
        expires_at DateTime64(3, 'UTC'),
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (name, term, holder)`,
      // The lease holder finds events other replicas accepted by their receive time, and
      // replicas find reports other replicas computed by their compute time: skip indexes
      // keep both scans to the newest parts.
      `ALTER TABLE {db}.events ADD INDEX IF NOT EXISTS idx_received received_at TYPE minmax GRANULARITY 1`,
      `ALTER TABLE {db}.events MATERIALIZE INDEX idx_received`,
      `ALTER TABLE {db}.impact_reports ADD INDEX IF NOT EXISTS idx_computed computed_at TYPE minmax GRANULARITY 1`,
      `ALTER TABLE {db}.impact_reports MATERIALIZE INDEX idx_computed`,
    ],
  },
  {
    version: 7,
    name: 'plans: usage, usage alerts, notification webhook',
    statements: [
      // Events accepted per org and calendar month (the quota's usage): each ingest adds a row of
      // its newly stored events, which the merge sums. Kept apart from the events themselves,
      // which expire by event time while the month's count must not.
      `CREATE TABLE IF NOT EXISTS {db}.usage (
        org_id String,
        period_start DateTime64(3, 'UTC'),
        events UInt64
      ) ENGINE = SummingMergeTree(events) ORDER BY (org_id, period_start)`,
      // One alert per (org, type, period), e.g. usage_80 once a month; its delivery to the org's
      // webhook is a newer version of the row.
      `CREATE TABLE IF NOT EXISTS {db}.org_alerts (
        org_id String,
        type LowCardinality(String),
        period_start DateTime64(3, 'UTC'),
        at DateTime64(3, 'UTC'),
        message String,
        delivery LowCardinality(String),
        attempts UInt16,
        last_error String,
        updated_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (org_id, type, period_start)`,
      // The org's notification webhook and its signing secret (sealed like connection secrets).
      `ALTER TABLE {db}.orgs ADD COLUMN IF NOT EXISTS notify_url String DEFAULT ''`,
      `ALTER TABLE {db}.orgs ADD COLUMN IF NOT EXISTS notify_secret String DEFAULT ''`,
    ],
  },
  {
    version: 8,
    name: "reports: each metric's placebo estimate, which later reports pool",
    statements: [
      // {"<metric id>": {"inflation": …, "df": …}}: small, so pooling a metric's history reads
      // this column of the latest reports, not their whole JSON.
      `ALTER TABLE {db}.impact_reports ADD COLUMN IF NOT EXISTS placebos String DEFAULT ''`,
    ],
  },
];

/** The database and the migrations record, created before any migration runs. */
export function bootstrapStatements(db: string): string[] {
  return [
    `CREATE DATABASE IF NOT EXISTS ${db}`,
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  ];
}

/**
 * Apply the migrations not yet recorded; returns the versions applied now. With `cluster`
 * (a ClickHouse cluster name) every statement runs in its cluster form (store/cluster.ts).
 */
export async function migrate(backend: Backend, database: string, cluster?: string): Promise<number[]> {
  const db = identifier(database);
  const run = async (sql: string) => {
    for (const statement of cluster ? clusterDdl(sql, identifier(cluster)) : [sql]) await backend.command(statement);
  };
  // An ON CLUSTER statement waits for every host: once this node has the record, a start with
  // nothing to apply runs no cluster DDL and so does not need every ClickHouse host up.
  if (!cluster || !(await hasMigrationsRecord(backend, db))) {
    for (const sql of bootstrapStatements(db)) await run(sql);
  }
  const done = new Set(
    (await backend.query<{ version: number }>(`SELECT version FROM ${db}.schema_migrations FINAL`)).map((r) =>
      Number(r.version),
    ),
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const sql of m.statements) await run(sql.replaceAll('{db}', db));
    await backend.insert(`${db}.schema_migrations`, [
      { version: m.version, name: m.name, applied_at: chTime(Date.now()) },
    ]);
    applied.push(m.version);
  }
  return applied;
}

async function hasMigrationsRecord(backend: Backend, db: string): Promise<boolean> {
  const [row] = await backend.query<{ n: string | number }>(
    `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'schema_migrations'`,
    { db },
  );
  return Number(row?.n) > 0;
}

/** Latest schema version this code expects. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** Epoch ms → ClickHouse DateTime64(3) text in UTC ("2026-11-01 12:00:00.000"). */
export function chTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** ClickHouse DateTime64 text in UTC → epoch ms. */
export function fromChTime(text: string): number {
  return Date.parse(text.replace(' ', 'T') + 'Z');
}
