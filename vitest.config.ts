import { defineConfig } from 'vitest/config';

// One process per test file (pool "forks"): chDB allows one data directory per
// process, so each file gets its own embedded engine and its own database.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
