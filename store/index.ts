// The store: one backend (embedded chDB or a ClickHouse server), migrated at
// open, and every repository the other layers use.
import { randomBytes } from 'node:crypto';
import { DEFAULT_PLAN_LIMITS, type Plan, type PlanTable } from '../domain/plan.js';
import { identifier, StoreError, type Backend, type Params } from './backend.js';
import { clusterDdl } from './cluster.js';
import { openChdb } from './chdb.js';
import { ConnectionRepository } from './connections.js';
import { EventRepository } from './events.js';
import { JobRepository } from './jobs.js';
import { LeaseRepository } from './leases.js';
import { MetricRepository } from './metrics.js';
import { PointRepository } from './points.js';
import { ReportRepository } from './reports.js';
import { SecretBox } from './secrets.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';
import { KeyRepository, OrgRepository } from './orgs.js';
import { PairRepository } from './pairs.js';
import { Retention } from './retention.js';
import { UsageRepository } from './usage.js';
import { OrgCache } from './org-cache.js';
import { AlertRepository } from './alerts.js';
import { openServer } from './server.js';

export interface StoreOptions {
  /** ClickHouse server URL; embedded chDB when absent. */
  clickhouseUrl?: string;
  username?: string;
  password?: string;
  database: string;
  /** Data directory of the embedded backend. */
  dataDir?: string;
  /**
   * A ClickHouse cluster (remote_servers) to lay the schema out on: Replicated tables ON CLUSTER,
   * Distributed by org (docs/clickhouse-cluster.md). Needs a server (clickhouseUrl) or a backend.
   */
  cluster?: string;
  /** An already open backend (tests share one chDB session across databases). */
  backend?: Backend;
  /** The plans' limits this service applies (OPSTRAILS_PLANS; default DEFAULT_PLAN_LIMITS). */
  plans?: PlanTable;
  /** Seals connection secrets (default: a throwaway key, for tests that store none). */
  secretBox?: SecretBox;
  now?: () => number;
}

export class Store {
  readonly orgs: OrgRepository;
  readonly keys: KeyRepository;
  readonly events: EventRepository;
  readonly connections: ConnectionRepository;
  readonly metrics: MetricRepository;
  readonly points: PointRepository;
  readonly reports: ReportRepository;
  /** The scheduler's fetch jobs. */
  readonly jobs: JobRepository;
  /** The scheduler's (event, metric) pairs and their readiness. */
  readonly pairs: PairRepository;
  /** Which replica runs the scheduler, when several share this store. */
  readonly leases: LeaseRepository;
  /** Plan retention of every org table: the horizon reads filter by, plan changes, the sweep. */
  readonly retention: Retention;
  /** Orgs as hot paths read them: from the store at most every few seconds. */
  readonly orgCache: OrgCache;
  /** Events accepted per org and month (the events quota). */
  readonly usage: UsageRepository;
  /** Orgs' alerts (usage_80) and their notification's delivery. */
  readonly alerts: AlertRepository;

  constructor(
    readonly backend: Backend,
    readonly database: string,
    /** Migration versions applied when this store was opened. */
    readonly appliedMigrations: number[],
    secretBox: SecretBox,
    /** The store's clock: retention horizons are taken at it. */
    readonly now: () => number = Date.now,
    /** The plans' limits: how long each plan's data is kept, how many events it may send. */
    readonly plans: PlanTable = DEFAULT_PLAN_LIMITS,
    /** The ClickHouse cluster the schema is laid out on (mutations then run on its local tables). */
    readonly cluster?: string,
  ) {
    this.retention = new Retention(this);
    // Each org-scoped read keeps to rows within the org's retention (store/org-tables.ts keptSince).
    const horizon = (orgId: string) => this.retention.horizon(orgId);
    const mutate = (sql: string, params?: Params) => this.mutate(sql, params);
    this.orgs = new OrgRepository(backend, database, secretBox);
    this.keys = new KeyRepository(backend, database, now);
    this.events = new EventRepository(backend, database, horizon);
    this.connections = new ConnectionRepository(backend, database, secretBox, now);
    this.metrics = new MetricRepository(backend, database, now);
    this.points = new PointRepository(backend, database, horizon, mutate);
    this.reports = new ReportRepository(backend, database, horizon);
    this.jobs = new JobRepository(backend, database, horizon, now);
    this.pairs = new PairRepository(backend, database, horizon, now);
    this.leases = new LeaseRepository(backend, database, now);
    this.orgCache = new OrgCache(this.orgs, now);
    this.usage = new UsageRepository(backend, database);
    this.alerts = new AlertRepository(backend, database);
  }

  /** Days an org on this plan keeps its data. */
  retentionDays(plan: Plan): number {
    return this.plans[plan].retention_days;
  }

  /**
   * Run a mutation (`ALTER TABLE {db}.<table> UPDATE|DELETE ...`) and wait until every replica
   * has applied it; on a cluster it runs ON CLUSTER on the local tables that hold the data.
   */
  async mutate(sql: string, params?: Params): Promise<void> {
    const statement = `${sql} SETTINGS mutations_sync = 2`;
    for (const s of this.cluster ? clusterDdl(statement, this.cluster) : [statement]) {
      await this.backend.command(s, params);
    }
  }

  /** True when the backend answers and the schema is current. */
  async ready(): Promise<boolean> {
    try {
      const [row] = await this.backend.query<{ v: number }>(
        `SELECT max(version) AS v FROM ${this.database}.schema_migrations`,
      );
      return Number(row?.v) >= SCHEMA_VERSION;
    } catch {
      // Handled as the answer: an unreachable backend or a missing schema table is "not ready"
      // (GET /readyz answers 503). The cause is not logged here: probes poll every few
      // seconds, and the same backend failure is logged with its cause by the calls that need the store.
      return false;
    }
  }

  /** Wait for pending writes, then release the backend. */
  async close(): Promise<void> {
    await this.events.drain();
    await this.backend.close();
  }
}

/** Open the configured backend and apply pending migrations. */
export async function openStore(opts: StoreOptions): Promise<Store> {
  const database = identifier(opts.database);
  const cluster = opts.cluster === undefined ? undefined : identifier(opts.cluster);
  if (cluster && !opts.clickhouseUrl && !opts.backend) {
    throw new StoreError(`ClickHouse cluster ${cluster} needs a ClickHouse server; the embedded engine has no cluster`);
  }
  const backend =
    opts.backend ??
    (opts.clickhouseUrl
      ? openServer({
          url: opts.clickhouseUrl,
          username: opts.username ?? 'default',
          password: opts.password ?? '',
          cluster,
        })
      : openChdb(opts.dataDir ?? './data'));
  const applied = await migrate(backend, database, cluster);
  const box = opts.secretBox ?? SecretBox.fromPassphrase(randomBytes(32).toString('base64'));
  return new Store(backend, database, applied, box, opts.now, opts.plans, cluster);
}
