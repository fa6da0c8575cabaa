// The demo data set: a synthetic (testdata) connection, five metrics and a week
// of deployments, some with an injected change. `opstrails-impact demo` loads
// it; scripts/demo-reports-hash.ts computes its reports on a fixed clock.
export const HOUR = 3_600_000;

/** Deployments of the demo week: three a day, and which ones changed what. */
export function demoDeployments(now: number) {
  const start = Math.floor(now / HOUR) * HOUR - 7 * 24 * HOUR;
  return Array.from({ length: 21 }, (_, i) => {
    const day = Math.floor(i / 3);
    const time = start + day * 24 * HOUR + [10, 14, 17][i % 3] * HOUR + 7 * 60_000;
    return { n: i + 1, version: `v2.${i + 1}.0`, time };
  });
}

/** Anything that answers the API as an org admin (the demo's in-process app). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the demo reads ids off the API's JSON answers
export type AdminApi = (method: 'POST' | 'GET', url: string, payload?: object, contentType?: string) => Promise<any>;

/** Create the demo's connection and metrics and send its deployments, all through the API. */
export async function loadDemo(api: AdminApi, now: number) {
  const deploys = demoDeployments(now);
  const at = (n: number) => new Date(deploys[n - 1].time).toISOString();
  const connection = await api('POST', '/v1/connections', {
    provider: 'testdata',
    name: 'Demo (synthetic data)',
    config: { seed: 42 },
  });
  const rhythm = { daily_amplitude: 0.15, rho: 0.3 };
  // Practical threshold 10%: smaller moves are noise for these metrics.
  const metrics = [
    // Errors jump 60% with deploy 5; deploy 6 (a rollback) brings them back.
    {
      name: 'Checkout errors',
      kind: 'count',
      unit: 'errors/min',
      direction: 'increase_is_bad',
      critical: true,
      threshold: 0.1,
      query: {
        shape: 'count',
        base: 200,
        noise: 0.03,
        ...rhythm,
        changes: [
          { at: at(5), relative: 0.6 },
          { at: at(6), relative: -0.375 },
        ],
      },
    },
    {
      name: 'Checkout error rate',
      kind: 'ratio',
      unit: 'errors/requests',
      direction: 'increase_is_bad',
      threshold: 0.1,
      query: {
        shape: 'ratio',
        base: 0.01,
        requests: 20000,
        noise: 0.03,
        ...rhythm,
        changes: [
          { at: at(5), relative: 0.6 },
          { at: at(6), relative: -0.375 },
        ],
      },
    },
    // Deploy 12 makes checkout 30% faster.
    {
      name: 'Checkout latency p95',
      kind: 'quantile',
      unit: 'ms',
      direction: 'increase_is_bad',
      threshold: 0.1,
      query: { shape: 'quantile', base: 420, noise: 0.03, ...rhythm, changes: [{ at: at(12), relative: -0.3 }] },
    },
    // Deploy 18 loses a fifth of conversions.
    {
      name: 'Orders',
      kind: 'count',
      unit: 'orders/min',
      direction: 'decrease_is_bad',
      critical: true,
      threshold: 0.1,
      query: { shape: 'count', base: 150, noise: 0.03, ...rhythm, changes: [{ at: at(18), relative: -0.2 }] },
    },
  ];
  const created = [];
  for (const m of metrics) {
    created.push(
      await api('POST', '/v1/metrics', {
        connection_id: connection.id,
        applies_to: { subjects: ['production'] },
        ...m,
      }),
    );
  }
  // Staging runs smoke checks that report only now and then: too little data to judge.
  created.push(
    await api('POST', '/v1/metrics', {
      connection_id: connection.id,
      name: 'Staging smoke-check failures',
      kind: 'count',
      direction: 'increase_is_bad',
      applies_to: { subjects: ['staging'] },
      query: { shape: 'count', base: 3, missing_rate: 0.7 },
    }),
  );
  await api(
    'POST',
    '/v1/events',
    deploys
      .map((d) => ({
        specversion: '1.0',
        id: `demo-deploy-${d.n}`,
        source: 'demo/ci',
        type: d.n === 6 ? 'dev.opstrails.rollback' : 'dev.opstrails.deployment',
        subject: 'production',
        time: new Date(d.time).toISOString(),
        version: d.version,
        data: { service: 'checkout', note: 'synthetic demo event' },
      }))
      .concat([
        {
          specversion: '1.0',
          id: 'demo-staging-1',
          source: 'demo/ci',
          type: 'dev.opstrails.deployment',
          subject: 'staging',
          time: new Date(deploys[10].time - 2 * HOUR).toISOString(),
          version: 'v2.11.0-rc1',
          data: { service: 'checkout', note: 'synthetic demo event' },
        },
      ] as never[]),
    'application/cloudevents-batch+json',
  );

  return { deploys, created };
}
