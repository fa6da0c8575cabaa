// Test stores: one embedded chDB per test process (chDB allows one data
// directory per process) and one fresh ClickHouse database per test file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanTable } from '../../domain/plan.js';
import type { Backend } from '../../store/backend.js';
import { openChdb, type ChdbBackend } from '../../store/chdb.js';
import { openStore, type Store } from '../../store/index.js';

let shared: ChdbBackend | undefined;

/** This process's embedded engine (opened on first use, in a temp directory). */
export function sharedChdb(): ChdbBackend {
  shared ??= openChdb(mkdtempSync(join(tmpdir(), 'opstrails-test-')));
  return shared;
}

/** A backend whose close() leaves the shared engine open (each test file closes its store). */
export function unclosable(backend: Backend): Backend {
  return { ...backend, close: async () => {} };
}

/** A unique database name for one test file. */
export function databaseName(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** A migrated store in a fresh database on this process's chDB. */
export async function testStore(
  opts: { database?: string; now?: () => number; backend?: Backend; plans?: PlanTable } = {},
): Promise<Store> {
  return openStore({
    backend: opts.backend ?? unclosable(sharedChdb()),
    database: opts.database ?? databaseName(),
    now: opts.now,
    plans: opts.plans,
  });
}
