// The schema on a ClickHouse cluster (CLICKHOUSE_CLUSTER, store/cluster.ts): the cluster form of
// every migration statement, checked as text, parsed by ClickHouse itself (chDB's formatQuery),
// and run on a one-node cluster in chDB; the configuration that turns it on; the settings the
// server backend sends; and the store suite on a real cluster when the environment names one.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../cli/config.js';
import { storeOptions } from '../../cli/serve.js';
import { receive, type CloudEvent } from '../../domain/event.js';
import type { Backend } from '../../store/backend.js';
import { openChdb } from '../../store/chdb.js';
import { CLUSTER_SETTINGS, CLUSTER_WIDE_TABLES, clusterDdl, localTable } from '../../store/cluster.js';
import { openStore, type Store } from '../../store/index.js';
import { bootstrapStatements, migrate, MIGRATIONS } from '../../store/migrations.js';
import { openServer } from '../../store/server.js';
import { databaseName, unclosable } from '../support/store.js';
import { storeSuite } from './suite.js';

const CLUSTER = 'opstrails';
const DB = 'impact';

/** Every statement a fresh single-server database runs, in order (what migrate() issues). */
function singleServerDdl(db: string): string[] {
  return [...bootstrapStatements(db), ...MIGRATIONS.flatMap((m) => m.statements.map((s) => s.replaceAll('{db}', db)))];
}

/** The tables the single-server DDL creates, with the engine clause and ORDER BY of each. */
const TABLES = singleServerDdl(DB)
  .map((sql) => /^CREATE TABLE IF NOT EXISTS \w+\.(\w+) [\s\S]*ORDER BY \(?(\w+)/.exec(sql.trim()))
  .filter((m) => m !== null)
  .map((m) => ({ name: m[1], firstKey: m[2] }));
const ORG_TABLES = TABLES.filter((t) => !CLUSTER_WIDE_TABLES.includes(t.name)).map((t) => t.name);

const CLUSTER_DDL = singleServerDdl(DB).map((sql) => ({ sql, cluster: clusterDdl(sql, CLUSTER) }));
const CLUSTER_STATEMENTS = CLUSTER_DDL.flatMap((d) => d.cluster);

describe('cluster DDL (text)', () => {
  it('knows every table: org-owned ones start their ORDER BY with org_id, the others are cluster-wide', () => {
    expect(TABLES.length).toBeGreaterThanOrEqual(10);
    for (const t of TABLES) expect(t.firstKey === 'org_id', t.name).toBe(!CLUSTER_WIDE_TABLES.includes(t.name));
    expect(TABLES.map((t) => t.name)).toEqual(expect.arrayContaining([...CLUSTER_WIDE_TABLES]));
  });

  it('runs every statement ON CLUSTER', () => {
    for (const sql of CLUSTER_STATEMENTS)
      expect(sql).toMatch(new RegExp(`^\\S+ \\S+ (IF NOT EXISTS )?\\S+ ON CLUSTER ${CLUSTER}\\b`));
    expect(CLUSTER_DDL[0].cluster).toEqual([`CREATE DATABASE IF NOT EXISTS ${DB} ON CLUSTER ${CLUSTER}`]);
  });

  it('creates each org-owned table as a Replicated <name>_local and a Distributed <name> sharded by org', () => {
    for (const name of ORG_TABLES) {
      const { sql, cluster } = CLUSTER_DDL.find((d) => d.sql.includes(`EXISTS ${DB}.${name} (`))!;
      expect(cluster, name).toHaveLength(2);
      const [local, distributed] = cluster;
      const engine = /ENGINE = (\w+)(?:\(([^()]*)\))?/.exec(sql)!;
      const args = engine[2] ? `, ${engine[2]}` : '';
      expect(local).toContain(`CREATE TABLE IF NOT EXISTS ${DB}.${name}_local ON CLUSTER ${CLUSTER} (`);
      expect(local).toContain(
        `ENGINE = Replicated${engine[1]}('/clickhouse/tables/{shard}/{database}/${name}', '{replica}'${args})`,
      );
      // Columns, indexes, ORDER BY and TTL: the statement's text from the column list on, engine aside.
      expect(local.slice(local.indexOf(' (')).replace(/ENGINE = .*?\)(?= |\n|$)/, '')).toBe(
        sql.slice(sql.indexOf(' (')).replace(engine[0], ''),
      );
      expect(distributed.replace(/\s+/g, ' ')).toBe(
        `CREATE TABLE IF NOT EXISTS ${DB}.${name} ON CLUSTER ${CLUSTER} AS ${DB}.${name}_local ` +
          `ENGINE = Distributed(${CLUSTER}, ${DB}, ${name}_local, cityHash64(org_id))`,
      );
    }
  });

  it('creates the cluster-wide tables once, on one Keeper path every node replicates', () => {
    for (const name of CLUSTER_WIDE_TABLES) {
      const { cluster } = CLUSTER_DDL.find((d) => d.sql.includes(`EXISTS ${DB}.${name} (`))!;
      expect(cluster, name).toHaveLength(1);
      expect(cluster[0]).toContain(`CREATE TABLE IF NOT EXISTS ${DB}.${name} ON CLUSTER ${CLUSTER} (`);
      expect(cluster[0]).toMatch(
        new RegExp(
          `ENGINE = ReplicatedReplacingMergeTree\\('/clickhouse/tables/all/\\{database\\}/${name}', '\\{shard\\}-\\{replica\\}'`,
        ),
      );
      expect(cluster[0]).not.toContain('Distributed');
    }
  });

  it('alters the local tables ON CLUSTER (indexes live where the data is), added columns also the Distributed one', () => {
    const alters = CLUSTER_DDL.filter((d) => d.sql.startsWith('ALTER'));
    expect(alters.length).toBe(7);
    for (const { sql, cluster } of alters) {
      const [, name, rest] = /^ALTER TABLE \w+\.(\w+) (.*)$/s.exec(sql)!;
      expect(ORG_TABLES).toContain(name);
      const local = `ALTER TABLE ${DB}.${name}_local ON CLUSTER ${CLUSTER} ${rest}`;
      const distributed = `ALTER TABLE ${DB}.${name} ON CLUSTER ${CLUSTER} ${rest}`;
      expect(cluster).toEqual(rest.startsWith('ADD COLUMN ') ? [local, distributed] : [local]);
    }
    expect(alters.filter((a) => a.cluster.length === 2).length).toBe(3);
  });

  it('refuses a statement it has no cluster form for', () => {
    expect(() => clusterDdl(`DROP TABLE ${DB}.events`, CLUSTER)).toThrow(/no cluster form/);
    expect(() => clusterDdl(`CREATE TABLE IF NOT EXISTS ${DB}.t (x UInt8) ENGINE = Memory`, CLUSTER)).toThrow(
      /not a MergeTree-family table/,
    );
  });
});

// chDB has no cluster and no Keeper: a config file gives it a one-shard, one-replica cluster on
// itself (a Distributed table then reads and writes the local tables), and the {shard}/{replica}
// macros. It must be given when the process's engine starts, so this file opens its own.
const dir = mkdtempSync(join(tmpdir(), 'opstrails-cluster-'));
const configFile = join(dir, 'cluster.xml');
writeFileSync(
  configFile,
  `<clickhouse>
  <tcp_port>9000</tcp_port>
  <macros><shard>01</shard><replica>r1</replica></macros>
  <remote_servers><${CLUSTER}><shard><internal_replication>true</internal_replication>
    <replica><host>localhost</host><port>9000</port></replica>
  </shard></${CLUSTER}></remote_servers>
</clickhouse>`,
);
const dataDir = join(dir, 'data');
const engine = new Session(dataDir, { connectionArgs: [`--config-file=${configFile}`] });
const chdb = openChdb(dataDir);

afterAll(async () => {
  await chdb.close();
  engine.close();
});

/** ClickHouse's own formatting of a statement: parses it (a syntax error throws) without running it. */
async function formatted(sql: string): Promise<string> {
  const [row] = await chdb.query<{ f: string }>('SELECT formatQuery({sql:String}) AS f', { sql });
  return row.f;
}

describe('cluster DDL parsed by ClickHouse (chDB formatQuery)', () => {
  it(`parses all ${CLUSTER_STATEMENTS.length} cluster statements`, async () => {
    let parsed = 0;
    for (const sql of CLUSTER_STATEMENTS) {
      expect(await formatted(sql), sql).toContain(`ON CLUSTER ${CLUSTER}`);
      parsed++;
    }
    expect(parsed).toBe(CLUSTER_STATEMENTS.length);
    expect(parsed).toBeGreaterThanOrEqual(25);
  });

  it('keeps columns, indexes, ORDER BY and TTL of each table as ClickHouse reads them; only name and engine change', async () => {
    for (const { sql, cluster } of CLUSTER_DDL) {
      if (!sql.startsWith('CREATE TABLE')) continue;
      const single = (await formatted(sql)).split('\n');
      const replicated = (await formatted(cluster[0])).split('\n');
      const engineAt = single.findIndex((l) => l.startsWith('ENGINE = '));
      expect(replicated.length, sql).toBe(single.length);
      expect(
        replicated.filter((_, i) => i !== 0 && i !== engineAt),
        sql,
      ).toEqual(single.filter((_, i) => i !== 0 && i !== engineAt));
      expect(replicated[engineAt]).toMatch(
        new RegExp(`^ENGINE = Replicated${single[engineAt].slice(9).split('(')[0]}\\('/clickhouse/tables/`),
      );
    }
  });

  it('alters the same way, on the local table', async () => {
    for (const { sql, cluster } of CLUSTER_DDL) {
      if (!sql.startsWith('ALTER')) continue;
      const single = await formatted(sql);
      const alter = await formatted(cluster[0]);
      const name = /^ALTER TABLE \w+\.(\w+)/.exec(sql)![1];
      expect(alter).toBe(single.replace(`${DB}.${name}`, `${DB}.${name}_local ON CLUSTER ${CLUSTER}`));
    }
  });
});

/** A backend that records the statements it runs. */
function recording(backend: Backend): Backend & { commands: string[] } {
  const commands: string[] = [];
  return {
    ...backend,
    commands,
    command: (sql, params) => {
      commands.push(sql);
      return backend.command(sql, params);
    },
  };
}

/**
 * chDB runs no distributed DDL and has no Keeper, so here each cluster statement runs on the one
 * node as that node would run it, unreplicated: ON CLUSTER and the Replicated engine's Keeper path
 * and replica name dropped. The Distributed tables are real.
 */
function oneNode(backend: Backend): Backend {
  return {
    ...backend,
    command: (sql, params) =>
      backend.command(
        sql.replace(` ON CLUSTER ${CLUSTER}`, '').replace(/Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/, '$1('),
        params,
      ),
  };
}

describe('a one-node cluster on chDB (Distributed over the local tables, unreplicated)', () => {
  let single: Store;
  let clustered: Store;
  let singleCommands: string[];
  let clusterCommands: string[];

  beforeAll(async () => {
    const singleBackend = recording(unclosable(chdb));
    single = await openStore({ backend: singleBackend, database: databaseName('single') });
    singleCommands = singleBackend.commands;
    const clusterBackend = recording(oneNode(unclosable(chdb)));
    clustered = await openStore({ backend: clusterBackend, database: databaseName('cluster'), cluster: CLUSTER });
    clusterCommands = clusterBackend.commands;
  });
  afterAll(async () => {
    await single?.close();
    await clustered?.close();
  });

  const tables = async (db: string) =>
    new Map(
      (
        await chdb.query<{
          name: string;
          engine: string;
          engine_full: string;
          sorting_key: string;
          create_table_query: string;
        }>(
          `SELECT name, engine, engine_full, sorting_key, create_table_query FROM system.tables WHERE database = {db:String}`,
          { db },
        )
      ).map((t) => [t.name, t]),
    );
  const columns = (db: string, table: string) =>
    chdb.query(
      `SELECT name, type, default_kind, default_expression, compression_codec FROM system.columns
       WHERE database = {db:String} AND table = {table:String} ORDER BY position`,
      { db, table },
    );
  const indexes = (db: string, table: string) =>
    chdb.query(
      `SELECT name, type_full, expr, granularity FROM system.data_skipping_indices
       WHERE database = {db:String} AND table = {table:String} ORDER BY name`,
      { db, table },
    );
  const ttl = (createQuery: string) => /\bTTL .*$/.exec(createQuery)?.[0];

  it('runs exactly the migrations statements on one server, and their cluster form on a cluster', () => {
    expect(single.appliedMigrations).toEqual(MIGRATIONS.map((m) => m.version));
    expect(singleCommands).toEqual(singleServerDdl(single.database));
    expect(clustered.appliedMigrations).toEqual(MIGRATIONS.map((m) => m.version));
    expect(clusterCommands).toEqual(singleServerDdl(clustered.database).flatMap((sql) => clusterDdl(sql, CLUSTER)));
  });

  it('lays every org-owned table out as a Distributed table over <name>_local, sharded by org', async () => {
    const byName = await tables(clustered.database);
    expect([...byName.keys()].sort()).toEqual(
      [...ORG_TABLES.flatMap((n) => [n, localTable(n)]), ...CLUSTER_WIDE_TABLES].sort(),
    );
    for (const name of ORG_TABLES) {
      expect(byName.get(name)!.engine_full, name).toBe(
        `Distributed('${CLUSTER}', '${clustered.database}', '${name}_local', cityHash64(org_id))`,
      );
    }
  });

  it('gives each local table the single-server table’s columns, indexes, ORDER BY and TTL', async () => {
    const singleTables = await tables(single.database);
    const clusterTables = await tables(clustered.database);
    for (const { name } of TABLES) {
      const holder = CLUSTER_WIDE_TABLES.includes(name) ? name : localTable(name);
      const [want, got] = [singleTables.get(name)!, clusterTables.get(holder)!];
      expect(got.engine, name).toBe(want.engine);
      expect(got.sorting_key, name).toBe(want.sorting_key);
      expect(ttl(got.create_table_query), name).toBe(ttl(want.create_table_query));
      expect(await columns(clustered.database, holder), name).toEqual(await columns(single.database, name));
      expect(await indexes(clustered.database, holder), name).toEqual(await indexes(single.database, name));
      // What the repositories query has the same columns.
      expect(await columns(clustered.database, name), name).toEqual(await columns(single.database, name));
    }
    expect(ttl(clusterTables.get('metric_points_local')!.create_table_query)).toMatch(/retention_days/);
  });

  it('runs no DDL at all when the schema is current (no ON CLUSTER wait for every host)', async () => {
    const again = recording(oneNode(unclosable(chdb)));
    expect(await migrate(again, clustered.database, CLUSTER)).toEqual([]);
    expect(again.commands).toEqual([]);
  });

  it('reads its writes through the Distributed tables: FINAL, duplicates, org scoping, IN subqueries, the lease', async () => {
    const event = (id: string): CloudEvent => ({
      specversion: '1.0',
      id,
      source: 'ci/pipeline',
      type: 'dev.opstrails.deployment',
      subject: 'production',
      time: '2026-11-20T10:00:00Z',
    });
    const since = Date.now() - 1000;
    const a = (await clustered.orgs.create('A', 'pro')).id;
    const b = (await clustered.orgs.create('B', 'free')).id;
    expect((await clustered.orgs.get(a))?.name).toBe('A');
    const ingest = (org: string, ids: string[]) =>
      clustered.events.ingest(
        org,
        ids.map((id) => receive(event(id), Date.now())),
      );
    expect(await ingest(a, ['e1', 'e2', 'e1'])).toEqual({ accepted: ['e1', 'e2'], duplicates: ['e1'] });
    expect(await ingest(a, ['e2', 'e3'])).toEqual({ accepted: ['e3'], duplicates: ['e2'] });
    expect(await ingest(b, ['e1'])).toEqual({ accepted: ['e1'], duplicates: [] });
    expect(await clustered.events.count(a)).toBe(3);
    expect(await clustered.events.count(b)).toBe(1);
    // NOT IN (SELECT ... FROM impact_pairs): a subquery over a Distributed table.
    const unplanned = (await clustered.pairs.unplannedEvents(since)).filter((o) => o.orgId === a);
    expect(unplanned.flatMap((o) => o.events.map((e) => e.id)).sort()).toEqual(['e1', 'e2', 'e3']);
    // A JOIN of two Distributed tables' subqueries; the newer computation of a report wins (FINAL).
    const report = {
      org_id: a,
      event_source: 'ci/pipeline',
      event_id: 'e2',
      event_time: Date.parse(event('e2').time!),
    };
    await clustered.reports.save({
      ...report,
      status: 'pending',
      verdict: null,
      worst_metric: null,
      report: {},
      charts: {},
      retry_after_s: 5,
    });
    await clustered.reports.save({
      ...report,
      status: 'ready',
      verdict: 'pass',
      worst_metric: null,
      report: {},
      charts: {},
      retry_after_s: 0,
    });
    const timeline = await clustered.reports.timeline(a, {}, 10);
    expect(timeline.map((r) => [r.id, r.status, r.verdict])).toEqual(
      expect.arrayContaining([
        ['e2', 'ready', 'pass'],
        ['e1', null, null],
      ]),
    );
    expect(timeline).toHaveLength(3);
    // The lease lives in a cluster-wide table, read where it is written.
    await clustered.leases.put('scheduler', { term: 1, holder: 'r-1', expiresAt: Date.now() + 15_000 });
    expect((await clustered.leases.current('scheduler')).map((c) => c.holder)).toEqual(['r-1']);
  });
});

describe('configuration', () => {
  it('refuses CLICKHOUSE_CLUSTER without CLICKHOUSE_URL, in one line naming the variable', () => {
    const run = () => loadConfig({ CLICKHOUSE_CLUSTER: 'prod' });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/^invalid environment variable CLICKHOUSE_CLUSTER="prod": needs CLICKHOUSE_URL/);
    try {
      run();
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('accepts a cluster name with CLICKHOUSE_URL and passes it to the store', () => {
    const config = loadConfig({
      CLICKHOUSE_URL: 'http://clickhouse:8123',
      CLICKHOUSE_CLUSTER: 'prod_eu',
      OPSTRAILS_SECRET_KEY: 'k'.repeat(32),
    });
    expect(config.CLICKHOUSE_CLUSTER).toBe('prod_eu');
    expect(storeOptions(config).cluster).toBe('prod_eu');
    expect(
      loadConfig({ CLICKHOUSE_URL: 'http://clickhouse:8123', CLICKHOUSE_CLUSTER: '' }).CLICKHOUSE_CLUSTER,
    ).toBeUndefined();
  });

  it('refuses a cluster name that is not an identifier', () => {
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://clickhouse:8123', CLICKHOUSE_CLUSTER: 'prod; DROP' })).toThrow(
      /^invalid environment variable CLICKHOUSE_CLUSTER="prod; DROP": a cluster name/,
    );
  });

  it('will not open the embedded engine as a cluster', async () => {
    await expect(openStore({ database: 'x', cluster: CLUSTER })).rejects.toThrow(/needs a ClickHouse server/);
  });
});

describe('server backend settings', () => {
  let server: Server;
  let url: string;
  const seen: URLSearchParams[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(new URL(req.url ?? '/', 'http://x').searchParams);
      req.resume();
      req.on('end', () => res.writeHead(200, { 'Content-Type': 'text/plain' }).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the cluster settings with every statement and insert on a cluster, and none on one server', async () => {
    const onCluster = openServer({ url, username: 'default', password: '', cluster: CLUSTER });
    await onCluster.command('SELECT 1');
    await onCluster.insert(`${DB}.events`, [{ org_id: 'o' }]);
    await onCluster.close();
    const plain = openServer({ url, username: 'default', password: '' });
    await plain.command('SELECT 1');
    await plain.close();
    expect(seen).toHaveLength(3);
    for (const params of seen.slice(0, 2)) {
      for (const [name, value] of Object.entries(CLUSTER_SETTINGS)) expect(params.get(name), name).toBe(String(value));
    }
    expect(seen[0].get('insert_distributed_sync')).toBe('1');
    for (const name of Object.keys(CLUSTER_SETTINGS)) expect(seen[2].get(name), name).toBeNull();
  });
});

// The store suite on a real cluster: CLICKHOUSE_URL (any node) and CLICKHOUSE_CLUSTER (its
// remote_servers name) in the environment, with Keeper and the {shard}/{replica} macros set up.
const realCluster =
  process.env.CLICKHOUSE_URL && process.env.CLICKHOUSE_CLUSTER
    ? { url: process.env.CLICKHOUSE_URL, cluster: process.env.CLICKHOUSE_CLUSTER }
    : undefined;
if (realCluster) {
  storeSuite(`ClickHouse cluster ${realCluster.cluster} at ${realCluster.url}`, () =>
    openStore({
      clickhouseUrl: realCluster.url,
      username: process.env.CLICKHOUSE_USER ?? 'default',
      password: process.env.CLICKHOUSE_PASSWORD ?? '',
      database: databaseName('cluster'),
      cluster: realCluster.cluster,
    }),
  );
}
// Without CLICKHOUSE_URL and CLICKHOUSE_CLUSTER no cluster is reachable: that suite is not defined at all.
