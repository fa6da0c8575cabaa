// testdata: a deterministic synthetic source (in the spirit of Grafana's TestData)
// for the demo, benchmarks and tests. Values are a pure function of (seed,
// query, timestamp), so re-fetching a window returns the same points. Synthetic:
// it calls no provider.
import { METRIC_KINDS } from '../../domain/metric.js';
import { z } from 'zod';
import { alignDown, chunkWindow } from '../http.js';
import type {
  Connector,
  ConnectorModule,
  FetchOptions,
  FetchWindow,
  ProviderRequest,
  Series,
  SeriesPoint,
} from '../types.js';
import { testdataPoint, testdataQuerySchema, type TestdataQuery } from './generator.js';

const configSchema = z.object({
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(1)
    .describe('Seed of the noise; same seed, same series'),
});
type TestdataConfig = z.infer<typeof configSchema>;

const MAX_POINTS = 10_000;

/** The synthetic connector: no network, no secrets. */
export const testdataConnector: ConnectorModule<TestdataConfig, Record<string, never>, TestdataQuery> = {
  id: 'testdata',
  name: 'TestData (synthetic)',
  // Calls no provider.
  officialHosts: [],
  kinds: METRIC_KINDS,
  configSchema,
  secretsSchema: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
  querySchema: testdataQuerySchema,
  create(config): Connector<TestdataQuery> {
    const limits = {
      maxPointsPerCall: MAX_POINTS,
      minStepSeconds: 1,
      dataDelaySeconds: 0,
      settleSeconds: 0,
      rateLimit: { requests: 1000, perSeconds: 1 },
      concurrency: 4,
      timeoutMs: 10_000,
    };
    const describe = (query: TestdataQuery, window: FetchWindow): ProviderRequest[] =>
      chunkWindow(window, MAX_POINTS).map((chunk) => ({
        method: 'GET',
        url:
          `testdata:synthetic?seed=${config.seed}&from=${new Date(chunk.from).toISOString()}` +
          `&to=${new Date(chunk.to).toISOString()}&step=${chunk.stepSeconds}`,
        headers: {},
        body: query,
      }));
    return {
      limits,
      async check() {
        return {
          ok: true,
          details: { synthetic: true, seed: config.seed, note: 'synthetic data; no provider is called' },
        };
      },
      describeQuery: describe,
      async fetchSeries(query: TestdataQuery, opts: FetchOptions): Promise<Series> {
        const step = opts.stepSeconds * 1000;
        const points: SeriesPoint[] = [];
        for (let ts = alignDown(opts.from, opts.stepSeconds); ts < opts.to; ts += step) {
          if (ts < opts.from) continue;
          opts.signal?.throwIfAborted();
          const p = testdataPoint(config.seed, query, ts, opts.stepSeconds);
          if (p) points.push(p);
        }
        return { stepSeconds: opts.stepSeconds, points, unit: null };
      },
    };
  },
};
