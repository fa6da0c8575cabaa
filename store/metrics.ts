// Metrics: a saved provider query on a connection, with what "worse" means.
import { randomUUID } from 'node:crypto';
import type { Direction, Metric, MetricDefinition, MetricKind } from '../domain/metric.js';
import type { Backend } from './backend.js';
import { DeletableTable, isoTime, type DeletableRow } from './versioned.js';

interface Row extends DeletableRow {
  metric_id: string;
  connection_id: string;
  name: string;
  kind: MetricKind;
  query: string;
  direction: Direction;
  unit: string;
  step_seconds: number;
  threshold: number;
  critical: number;
  applies_to: string;
  windows: string;
}

export class MetricRepository {
  private readonly rows: DeletableTable<Row>;

  constructor(backend: Backend, db: string, now: () => number = Date.now) {
    this.rows = new DeletableTable<Row>(backend, `${db}.metrics`, ['metric_id'], now);
  }

  async create(orgId: string, def: MetricDefinition): Promise<Metric> {
    const at = this.rows.version();
    const row = toRow(orgId, `met_${randomUUID().replaceAll('-', '')}`, def, at, at);
    await this.rows.put(row);
    return toMetric(row);
  }

  async get(orgId: string, id: string): Promise<Metric | undefined> {
    const row = await this.rows.get(orgId, id);
    return row && toMetric(row);
  }

  async list(orgId: string, filter: { connectionId?: string } = {}): Promise<Metric[]> {
    const rows = filter.connectionId
      ? await this.rows.list(orgId, 'connection_id = {connection:String}', { connection: filter.connectionId })
      : await this.rows.list(orgId);
    return rows.map(toMetric);
  }

  /** Replace a metric's definition. */
  async update(orgId: string, id: string, def: MetricDefinition): Promise<Metric | undefined> {
    const row = await this.rows.get(orgId, id);
    if (!row) return undefined;
    const next = toRow(orgId, id, def, row.created_at, this.rows.version());
    await this.rows.put(next);
    return toMetric(next);
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const row = await this.rows.get(orgId, id);
    if (!row) return false;
    await this.rows.remove(row);
    return true;
  }
}

function toRow(orgId: string, id: string, d: MetricDefinition, createdAt: string, updatedAt: string): Row {
  return {
    org_id: orgId,
    metric_id: id,
    connection_id: d.connection_id,
    name: d.name,
    kind: d.kind,
    query: JSON.stringify(d.query),
    direction: d.direction,
    unit: d.unit ?? '',
    step_seconds: d.step_seconds,
    threshold: d.threshold,
    critical: d.critical ? 1 : 0,
    applies_to: JSON.stringify(d.applies_to),
    windows: JSON.stringify(d.windows),
    created_at: createdAt,
    updated_at: updatedAt,
    deleted: 0,
  };
}

function toMetric(r: Row): Metric {
  return {
    id: r.metric_id,
    org_id: r.org_id,
    connection_id: r.connection_id,
    name: r.name,
    kind: r.kind,
    query: JSON.parse(r.query),
    direction: r.direction,
    unit: r.unit || null,
    step_seconds: Number(r.step_seconds),
    threshold: Number(r.threshold),
    critical: Number(r.critical) === 1,
    applies_to: JSON.parse(r.applies_to),
    windows: JSON.parse(r.windows),
    created_at: isoTime(r.created_at),
    updated_at: isoTime(r.updated_at),
  };
}
