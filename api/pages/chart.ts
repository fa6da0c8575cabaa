// The before/after chart of one metric as inline SVG: shaded windows and gap, the observed
// series, the seasonal reference (dashed), the expected after level as a band with a dashed line,
// the event and every overlapping event as labelled vertical lines, UTC time and unit-labelled
// value axes, and a <title>/<desc> saying it in words.
import { esc, fmtClock, fmtValue, headline } from './html.js';
import type { MetricChart, MetricReport } from '../../domain/report.js';

const W = 900;
const H = 320;
const M = { left: 74, right: 18, top: 50, bottom: 48 };
const PLOT = { x0: M.left, x1: W - M.right, y0: M.top, y1: H - M.bottom };
/** Label rows in the top margin (baselines, px). */
const ROWS = [13, 28, 43];
const CHAR_W = 6.2;

/** Chart colours; the text ones keep 4.5:1 on every shading (test/pages/contrast.test.ts). */
export const COLORS = {
  series: '#1d4ed8',
  baseline: '#4b5563',
  event: '#111827',
  confounder: '#7e22ce',
  expected: '#0f766e',
  before: '#dbeafe',
  after: '#ffedd5',
  gap: '#e5e7eb',
  grid: '#e5e7eb',
  text: '#374151',
};

/** Chart styles (also in the report's one <style> block, so its CSP hash covers them). */
export const CHART_CSS = `
figure.chart{margin:1rem 0;break-inside:avoid}
figure.chart>svg{width:100%;height:auto;max-width:${W}px;display:block;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
figure.chart figcaption{font-size:.85rem;color:#374151}
.legend{list-style:none;padding:0;margin:.4rem 0 0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.85rem;color:#1f2937}
.legend svg{flex:none;width:28px;height:12px;vertical-align:middle;margin-right:.3rem}
`;

export interface ChartContext {
  /** Event time, epoch ms. */
  eventTime: number;
  /** Short label of the event marker, e.g. "deployment v1.8.0". */
  eventLabel: string;
  /** Unique per page: used for element ids. */
  index: number;
}

/** The y value a point shows: ratios as the share value / weight, others as they are. */
function yOf(kind: MetricReport['kind'], p: { value: number; weight?: number }): number | null {
  if (kind === 'ratio') return p.weight && p.weight > 0 ? p.value / p.weight : null;
  return Number.isFinite(p.value) ? p.value : null;
}

/** Opacity of the expected band's fill (light enough for the window labels and the series over it). */
const EXPECTED_FILL_OPACITY = 0.18;

type Expected = { from: number; to: number; value: number; lo: number | null; hi: number | null };

/**
 * The chart's expected band, when it has a finite level. Its numbers are the report's headline
 * units (count: mean per bucket, ratio: a fraction, quantile: median, gauge: mean), which are
 * what yOf() plots per bucket (counts as they are, ratios as value / weight), so they are drawn
 * as they come: dividing a ratio's level by a weight again would put it off the axis.
 */
function expectedOf(chart: MetricChart | undefined): Expected | null {
  const e = chart?.expected;
  if (!e || !Number.isFinite(e.value) || !Number.isFinite(e.from) || !Number.isFinite(e.to) || !(e.to > e.from))
    return null;
  const end = (x: number | null) => (x !== null && Number.isFinite(x) ? x : null);
  const lo = end(e.lo);
  const hi = end(e.hi);
  // An interval is drawn only whole and around its level.
  return lo !== null && hi !== null && lo <= e.value && e.value <= hi ? { ...e, lo, hi } : { ...e, lo: null, hi: null };
}

/** What the expected level was predicted from, for the legend. */
function expectedSource(metric: MetricReport): string {
  const kind = metric.baseline?.kind;
  if (kind === 'reference_days') return 'reference days';
  if (kind === 'seasonal_week' || kind === 'seasonal_day')
    return `the same hours a ${kind === 'seasonal_day' ? 'day' : 'week'} earlier`;
  return 'the before level';
}

/** About `count` round ticks covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

const TIME_STEPS_MIN = [1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440];

function timeTicks(from: number, to: number): number[] {
  const spanMin = (to - from) / 60_000;
  const stepMin = TIME_STEPS_MIN.find((s) => spanMin / s <= 9) ?? 1440;
  const step = stepMin * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to; t += step) ticks.push(t);
  return ticks;
}

/** Splits sorted points into runs, breaking where buckets are missing, so a gap is not drawn as data. */
function runs(points: { x: number; y: number; ts: number }[]): { x: number; y: number }[][] {
  if (points.length === 0) return [];
  const diffs = points
    .slice(1)
    .map((p, i) => p.ts - points[i].ts)
    .sort((a, b) => a - b);
  const step = diffs.length ? diffs[0] : 60_000;
  const out: { x: number; y: number }[][] = [[points[0]]];
  for (let i = 1; i < points.length; i++) {
    if (points[i].ts - points[i - 1].ts > step * 1.5) out.push([]);
    out[out.length - 1].push(points[i]);
  }
  return out;
}

const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

/** What a chart's y axis measures, in words. */
export function axisLabel(metric: MetricReport): string {
  if (metric.kind === 'ratio') return metric.unit ? `share (%), ${metric.unit}` : 'share (%)';
  return metric.unit ?? 'value';
}

/** One metric's chart: an <svg role="img"> with its legend, inside a <figure>. */
export function renderChart(metric: MetricReport, chart: MetricChart | undefined, ctx: ChartContext): string {
  const kind = metric.kind;
  const before = { from: Date.parse(metric.windows.before.from), to: Date.parse(metric.windows.before.to) };
  const after = { from: Date.parse(metric.windows.after.from), to: Date.parse(metric.windows.after.to) };
  const toPlot = (pts: MetricChart['points'] | undefined) =>
    (pts ?? [])
      .map((p) => ({ ts: p.ts, y: yOf(kind, p) }))
      .filter((p): p is { ts: number; y: number } => p.y !== null && Number.isFinite(p.ts))
      .sort((a, b) => a.ts - b.ts);
  const series = toPlot(chart?.points);
  const baseline = toPlot(chart?.baseline);
  const expected = expectedOf(chart);

  const tsAll = [...series, ...baseline].map((p) => p.ts);
  const xFrom = Math.min(before.from, ...tsAll);
  const xTo = Math.max(after.to, ...tsAll.map((t) => t + 60_000));
  // The expected band is in the plotted units (expectedOf), so it widens the same value axis.
  const levels = [
    headline(kind, metric.before),
    headline(kind, metric.after),
    expected?.value ?? null,
    expected?.lo ?? null,
    expected?.hi ?? null,
  ].filter((v): v is number => v !== null && Number.isFinite(v));
  const ys = [...series, ...baseline].map((p) => p.y).concat(levels);
  let yLo = ys.length ? Math.min(...ys) : 0;
  const yHi = ys.length ? Math.max(...ys) : 1;
  // Counts and shares read best from zero; gauges and latencies around their level.
  if (kind === 'count' || kind === 'ratio' || (yLo >= 0 && yLo < (yHi - yLo) * 0.5)) yLo = Math.min(0, yLo);
  const yTicks = niceTicks(yLo, yHi);
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1];

  const sx = (t: number) => PLOT.x0 + ((t - xFrom) / (xTo - xFrom)) * (PLOT.x1 - PLOT.x0);
  const sy = (v: number) => PLOT.y1 - ((v - yMin) / (yMax - yMin)) * (PLOT.y1 - PLOT.y0);
  const fmtTick = (v: number) => (kind === 'ratio' ? `${Number((v * 100).toPrecision(3))}%` : fmtValue(v, kind, null));

  const id = `chart-${ctx.index}`;
  const parts: string[] = [];

  // Windows and gap, labelled inside the plot (the labels after the expected band, so it never covers them).
  const labels: string[] = [];
  const band = (from: number, to: number, fill: string, cls: string, label: string) => {
    const x = sx(Math.max(from, xFrom));
    const w = Math.max(0, sx(Math.min(to, xTo)) - x);
    parts.push(
      `<rect class="${cls}" x="${f1(x)}" y="${PLOT.y0}" width="${f1(w)}" height="${PLOT.y1 - PLOT.y0}" fill="${fill}"/>`,
    );
    if (label && w > label.length * CHAR_W)
      labels.push(
        `<text x="${f1(x + w / 2)}" y="${PLOT.y0 + 13}" text-anchor="middle" font-size="11" fill="${COLORS.text}">${label}</text>`,
      );
  };
  band(before.from, before.to, COLORS.before, 'window-before', 'before window');
  band(before.to, after.from, COLORS.gap, 'window-gap', after.from - before.to > 8 * 60_000 ? 'gap' : '');
  band(after.from, after.to, COLORS.after, 'window-after', 'after window');

  // The expected interval under the series (its level line is drawn over it, below).
  const ex = expected && { x0: sx(Math.max(expected.from, xFrom)), x1: sx(Math.min(expected.to, xTo)) };
  if (expected && ex && expected.lo !== null && expected.hi !== null) {
    const top = sy(expected.hi);
    parts.push(
      `<rect class="expected-band" x="${f1(ex.x0)}" y="${f1(top)}" ` +
        `width="${f1(Math.max(0, ex.x1 - ex.x0))}" height="${f1(Math.max(0.5, sy(expected.lo) - top))}" ` +
        `fill="${COLORS.expected}" fill-opacity="${EXPECTED_FILL_OPACITY}"/>`,
    );
  }
  parts.push(...labels);

  // Grid and value axis.
  for (const v of yTicks) {
    const y = f1(sy(v));
    parts.push(`<line x1="${PLOT.x0}" x2="${PLOT.x1}" y1="${y}" y2="${y}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    parts.push(
      `<text x="${PLOT.x0 - 6}" y="${y}" dy="0.32em" text-anchor="end" font-size="11" fill="${COLORS.text}">${esc(fmtTick(v))}</text>`,
    );
  }
  parts.push(
    `<text transform="translate(14 ${f1((PLOT.y0 + PLOT.y1) / 2)}) rotate(-90)" ` +
      `text-anchor="middle" font-size="11" fill="${COLORS.text}">${esc(axisLabel(metric))}</text>`,
  );

  // Time axis (UTC).
  const xTicks = timeTicks(xFrom, xTo);
  parts.push(
    `<line x1="${PLOT.x0}" x2="${PLOT.x1}" y1="${PLOT.y1}" y2="${PLOT.y1}" stroke="${COLORS.text}" stroke-width="1"/>`,
  );
  for (const t of xTicks) {
    const x = f1(sx(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${PLOT.y1}" y2="${PLOT.y1 + 5}" stroke="${COLORS.text}"/>`);
    parts.push(
      `<text x="${x}" y="${PLOT.y1 + 17}" text-anchor="middle" font-size="11" fill="${COLORS.text}">${fmtClock(t)}</text>`,
    );
  }
  const day = new Date(ctx.eventTime).toUTCString().slice(5, 16);
  parts.push(
    `<text x="${f1((PLOT.x0 + PLOT.x1) / 2)}" y="${H - 8}" text-anchor="middle" font-size="11" fill="${COLORS.text}">Time (UTC), ${esc(day)}</text>`,
  );

  // Window levels: the headline figure of each window as a short horizontal line.
  const level = (w: { from: number; to: number }, v: number | null, side: string) => {
    if (v === null || !Number.isFinite(v)) return;
    const y = f1(sy(v));
    parts.push(
      `<line class="level level-${side}" x1="${f1(sx(w.from))}" x2="${f1(sx(w.to))}" y1="${y}" y2="${y}" ` +
        `stroke="${COLORS.event}" stroke-width="2.5" stroke-opacity="0.75"/>`,
    );
  };

  // Seasonal reference (dashed), then the observed series (line and dots).
  const path = (pts: { ts: number; y: number }[]) =>
    runs(pts.map((p) => ({ ...p, x: sx(p.ts), y: sy(p.y) })))
      .map((r) =>
        r.length === 1
          ? `M${f1(r[0].x)} ${f1(r[0].y)}h0.01`
          : r.map((p, i) => `${i ? 'L' : 'M'}${f1(p.x)} ${f1(p.y)}`).join(''),
      )
      .join('');
  if (baseline.length) {
    parts.push(
      `<path class="baseline-series" d="${path(baseline)}" fill="none" stroke="${COLORS.baseline}" stroke-width="1.4" stroke-dasharray="5 4"/>`,
    );
  }
  if (series.length) {
    parts.push(
      `<path class="series" d="${path(series)}" fill="none" stroke="${COLORS.series}" stroke-width="1.6" stroke-linejoin="round"/>`,
    );
    parts.push(
      `<g class="series-dots" fill="${COLORS.series}">${series.map((p) => `<circle cx="${f1(sx(p.ts))}" cy="${f1(sy(p.y))}" r="1.7"/>`).join('')}</g>`,
    );
  } else {
    parts.push(
      `<text class="no-data" x="${f1((PLOT.x0 + PLOT.x1) / 2)}" y="${f1((PLOT.y0 + PLOT.y1) / 2)}" ` +
        `text-anchor="middle" font-size="13" fill="${COLORS.text}">No data points yet</text>`,
    );
  }
  if (expected && ex) {
    const y = f1(sy(expected.value));
    parts.push(
      `<line class="expected-line" x1="${f1(ex.x0)}" x2="${f1(ex.x1)}" y1="${y}" y2="${y}" ` +
        `stroke="${COLORS.expected}" stroke-width="2" stroke-dasharray="8 3"/>`,
    );
  }
  level(before, headline(kind, metric.before), 'before');
  level(after, headline(kind, metric.after), 'after');

  // Vertical markers with labels placed in the first free row of the top margin.
  const taken: [number, number][][] = ROWS.map(() => []);
  const placeLabel = (x: number, text: string): { x: number; y: number; anchor: string } => {
    const w = text.length * CHAR_W;
    let anchor = 'middle';
    let a = x - w / 2;
    if (a < 2) {
      anchor = 'start';
      a = x - 2;
    }
    if (a + w > W - 2) {
      anchor = 'end';
      a = x - w + 2;
    }
    const row = ROWS.findIndex((_, r) => taken[r].every(([s, e]) => a + w + 6 < s || a > e + 6));
    const r = row === -1 ? ROWS.length - 1 : row;
    taken[r].push([a, a + w]);
    return { x, y: ROWS[r], anchor };
  };
  const marker = (cls: string, t: number, label: string, color: string, dash: string, width: number) => {
    if (t < xFrom || t > xTo) return;
    const x = f1(sx(t));
    const l = placeLabel(sx(t), label);
    parts.push(
      `<g class="${cls}"><line x1="${x}" x2="${x}" y1="${l.y + 4}" y2="${PLOT.y1}" ` +
        `stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>` +
        `<text x="${f1(l.x)}" y="${l.y}" text-anchor="${l.anchor}" font-size="11" font-weight="600" fill="${color}">${esc(label)}</text></g>`,
    );
  };
  marker('event-marker', ctx.eventTime, short(ctx.eventLabel, 40), COLORS.event, '', 2);
  for (const c of metric.confounders) {
    marker('confounder-marker', Date.parse(c.time), short(`${c.type} ${c.id}`, 34), COLORS.confounder, '3 3', 1.5);
  }

  const title = `${metric.name}: before and after the ${ctx.eventLabel}`;
  return `<figure class="chart">
<svg role="img" aria-labelledby="${id}-title ${id}-desc" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg">
<title id="${id}-title">${esc(title)}</title>
<desc id="${id}-desc">${esc(describe(metric, series, baseline.length > 0, ctx, expected))}</desc>
${parts.join('\n')}
</svg>
${legend(metric, baseline.length > 0, expected)}
</figure>`;
}

function short(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The chart in words, for screen readers (and print captions). */
export function describe(
  metric: MetricReport,
  series: { ts: number; y: number }[],
  hasBaseline: boolean,
  ctx: ChartContext,
  expected: Expected | null = null,
): string {
  const kind = metric.kind;
  const b = metric.windows.before;
  const a = metric.windows.after;
  const clock = (iso: string) => fmtClock(Date.parse(iso));
  const s: string[] = [];
  s.push(`Time series of ${metric.name} (${axisLabel(metric)}) per minute, ${series.length} points, times in UTC.`);
  s.push(`The ${ctx.eventLabel} is marked at ${fmtClock(ctx.eventTime)}.`);
  s.push(
    `Before window ${clock(b.from)} to ${clock(b.to)}: ${fmtValue(headline(kind, metric.before), kind, metric.unit)}.`,
  );
  s.push(
    metric.after
      ? `After window ${clock(a.from)} to ${clock(a.to)}: ${fmtValue(headline(kind, metric.after), kind, metric.unit)}.`
      : `After window ${clock(a.from)} to ${clock(a.to)}: not complete yet.`,
  );
  if (hasBaseline)
    s.push(
      'A dashed line shows the same hours one ' +
        (metric.baseline?.kind === 'seasonal_day' ? 'day' : 'week') +
        ' earlier.',
    );
  if (expected) {
    const level = metric.change ? `${Math.round(metric.change.confidence * 100)}% ` : '';
    const ci =
      expected.lo !== null && expected.hi !== null
        ? `, its ${level}interval ${fmtValue(expected.lo, kind, metric.unit)} to ${fmtValue(expected.hi, kind, metric.unit)} shaded`
        : '';
    s.push(
      `Over the after window, a dashed line marks the level expected from ${expectedSource(metric)}: ${fmtValue(expected.value, kind, metric.unit)}${ci}.`,
    );
  }
  if (metric.confounders.length) {
    s.push(
      `Other events marked: ${metric.confounders.map((c) => `${c.type} ${c.id} at ${fmtClock(Date.parse(c.time))}`).join('; ')}.`,
    );
  }
  return s.join(' ');
}

function legend(metric: MetricReport, hasBaseline: boolean, expected: Expected | null): string {
  const swatch = (inner: string) => `<svg aria-hidden="true" viewBox="0 0 28 12">${inner}</svg>`;
  /** A horizontal legend line across the swatch. */
  const across = (attrs: string) => `<line x1="1" x2="27" y1="6" y2="6" ${attrs}/>`;
  const levelOf =
    metric.kind === 'ratio'
      ? 'ratio of sums'
      : metric.kind === 'count'
        ? 'mean per minute'
        : metric.kind === 'quantile'
          ? 'median'
          : 'mean';
  const items = [
    `<li>${swatch(`${across(`stroke="${COLORS.series}" stroke-width="2"`)}<circle cx="14" cy="6" r="2" fill="${COLORS.series}"/>`)}` +
      'observed, per minute</li>',
    `<li>${swatch(across(`stroke="${COLORS.event}" stroke-width="2.5" stroke-opacity="0.75"`))}window level (${levelOf})</li>`,
  ];
  if (hasBaseline) {
    const reference = metric.baseline?.kind === 'seasonal_day' ? 'day' : 'week';
    items.push(
      `<li>${swatch(across(`stroke="${COLORS.baseline}" stroke-width="1.6" stroke-dasharray="5 4"`))}` +
        `same hours a ${reference} earlier</li>`,
    );
  }
  if (expected) {
    const fill =
      expected.lo !== null
        ? `<rect y="1" width="28" height="10" fill="${COLORS.expected}" fill-opacity="${EXPECTED_FILL_OPACITY}"/>`
        : '';
    items.push(
      `<li class="legend-expected">` +
        `${swatch(`${fill}${across(`stroke="${COLORS.expected}" stroke-width="2" stroke-dasharray="8 3"`)}`)}` +
        `expected (${expectedSource(metric)})</li>`,
    );
  }
  items.push(
    `<li>${swatch(`<line x1="14" x2="14" y1="0" y2="12" stroke="${COLORS.event}" stroke-width="2"/>`)}this event</li>`,
  );
  if (metric.confounders.length) {
    items.push(
      `<li>${swatch(`<line x1="14" x2="14" y1="0" y2="12" stroke="${COLORS.confounder}" stroke-width="1.5" stroke-dasharray="3 3"/>`)}other events</li>`,
    );
  }
  items.push(
    `<li>${swatch(`<rect width="13" height="12" fill="${COLORS.before}"/><rect x="15" width="13" height="12" fill="${COLORS.after}"/>`)}` +
      'before / after windows (grey: gap)</li>',
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}
