// The report page renderer: escaping, one chart per metric with its markers, the baseline,
// the expected band, the table order, the counterfactual figures, the pending state, accessible
// names and self-containment. Plain strings in, HTML out.
import { describe, expect, it } from 'vitest';
import { fmtPct, fmtValue } from '../../api/pages/html.js';
import { renderReportPage } from '../../api/pages/report.js';
import type { MetricReport } from '../../domain/report.js';
import { loadReport } from './fixtures.js';

/** The HTML of each metric section, in order. */
function metricSections(html: string): string[] {
  return html
    .split('<section class="sheet metric"')
    .slice(1)
    .map((s) => s.slice(0, s.indexOf('</section>')));
}

const count = (html: string, needle: string | RegExp) => html.split(needle).length - 1;

/** The summary table's rows as [metric name, section id], top to bottom. */
function tableRows(html: string): [string, string][] {
  const body = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'));
  return [...body.matchAll(/<th scope="row"><a href="#(metric-\d+)">([^<]*)<\/a><\/th>/g)].map((m) => [m[2], m[1]]);
}

/** The value a y coordinate of a chart stands for, from two of its axis ticks (ratios: the fraction behind "1.5%"). */
function valueAtY(section: string, kind: MetricReport['kind']): (y: number) => number {
  const ticks = [
    ...section.matchAll(
      /<text x="[\d.]+" y="([\d.]+)" dy="0.32em" text-anchor="end" font-size="11" fill="#[0-9a-f]+">([^<]+)<\/text>/g,
    ),
  ].map((m) => ({
    y: Number(m[1]),
    v: kind === 'ratio' ? Number(m[2].replace('%', '')) / 100 : Number(m[2].replace(/,/g, '').replace('\u2212', '-')),
  }));
  expect(ticks.length).toBeGreaterThanOrEqual(2);
  const [a, b] = [ticks[0], ticks[ticks.length - 1]];
  return (y) => a.v + ((y - a.y) / (b.y - a.y)) * (b.v - a.v);
}

/** The one-line counterfactual a ready metric's section shows. */
function counterfactualLine(section: string): string | null {
  return /<dt>After vs expected<\/dt><dd><span class="counterfactual">([^<]*)<\/span><\/dd>/.exec(section)?.[1] ?? null;
}

/** A page number back from its text: "1.20%" (as a fraction), "39.3 errors/min", "−8.2%". */
const parseFigure = (s: string) =>
  Number(s.replace('\u2212', '-').replace(/[^\d.+-]/g, '')) / (s.includes('%') ? 100 : 1);

describe('renderReportPage', () => {
  it('escapes every user-provided string', () => {
    const { report, charts } = loadReport('regression');
    report.event.id = '<script>alert(1)</script>';
    report.event.source = 'github.com/acme/<b>shop</b>';
    report.event.subject = '"><img src=x onerror=alert(2)>';
    report.event.version = "v1' onmouseover='alert(3)";
    report.event.type = 'deployment<svg onload=alert(4)>';
    report.metrics[0].name = '<img src=x onerror=alert(5)>';
    report.metrics[0].confounders[0].id = '</text><script>alert(6)</script>';
    report.metrics[2].unit = '<img src=x onerror=alert(7)>';
    report.metrics[0].baseline!.skipped_days = [{ day: 3, reason: '<script>alert(8)</script>' }];
    report.awaiting = ['<iframe src=//evil>'];
    report.explanation = '<b>bold</b> & more';
    const html = renderReportPage(report, charts);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<b>/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toMatch(/<svg onload/i);
    expect(html).not.toMatch(/' onmouseover='/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(5)&gt;');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; more');
  });

  it('says what the earlier buckets were for, only when some were read', () => {
    const { report, charts } = loadReport('regression');
    // Without reference days they fed the noise model only.
    report.metrics[0].baseline = { kind: 'before_window' };
    report.metrics[0].data_quality!.history_buckets = 240;
    if (report.metrics[1].data_quality) report.metrics[1].data_quality.history_buckets = 0;
    const sections = metricSections(renderReportPage(report, charts));
    expect(sections[0]).toContain('noise model also from 240 earlier buckets');
    expect(sections[1]).not.toContain('noise model');
    expect(sections[1]).not.toContain("today's level from");
    // With reference days they set today's level (they are compared), and the note says so.
    const withDays = loadReport('regression');
    expect(withDays.report.metrics[0].baseline!.kind).toBe('reference_days');
    withDays.report.metrics[0].data_quality!.history_buckets = 295;
    const first = metricSections(renderReportPage(withDays.report, withDays.charts))[0];
    expect(first).toContain("today's level from 295 earlier buckets and the before window");
    expect(first).not.toContain('noise model also');
  });

  it('gives every metric a chart with the event marker, inside the gap between its windows', () => {
    const { report, charts } = loadReport('regression');
    const sections = metricSections(renderReportPage(report, charts));
    expect(sections).toHaveLength(report.metrics.length);
    for (const s of sections) {
      expect(count(s, '<svg role="img"')).toBe(1);
      expect(count(s, 'class="event-marker"')).toBe(1);
      const marker = /<g class="event-marker"><line x1="([\d.]+)"/.exec(s);
      const gap = /<rect class="window-gap" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(s);
      expect(marker && gap).toBeTruthy();
      const x = Number(marker![1]);
      expect(x).toBeGreaterThan(Number(gap![1]));
      expect(x).toBeLessThan(Number(gap![1]) + Number(gap![2]));
      expect(s).toContain('deployment v1.8.0');
      expect(s).toMatch(/<path class="series" d="M/);
    }
  });

  it('marks each confounding event with a labelled line', () => {
    const { report, charts } = loadReport('regression');
    const sections = metricSections(renderReportPage(report, charts));
    report.metrics.forEach((m, i) => {
      expect(m.confounders.length).toBeGreaterThan(0);
      expect(count(sections[i], 'class="confounder-marker"')).toBe(m.confounders.length);
      for (const c of m.confounders) expect(sections[i]).toContain(`>${c.type} ${c.id.slice(0, 20)}`);
    });
    report.metrics[0].confounders = [];
    expect(count(metricSections(renderReportPage(report, charts))[0], 'class="confounder-marker"')).toBe(0);
  });

  it('draws the seasonal baseline as a dashed series only where there is one', () => {
    const { report, charts } = loadReport('regression');
    // The fixture, like the scheduler, has the week-earlier hours for every metric; take two away.
    delete charts[report.metrics[0].metric_id].baseline;
    charts[report.metrics[3].metric_id].baseline = [];
    const sections = metricSections(renderReportPage(report, charts));
    const withBaseline = report.metrics.map((m) => Boolean(charts[m.metric_id].baseline?.length));
    expect(withBaseline.filter(Boolean).length).toBe(report.metrics.length - 2);
    report.metrics.forEach((_, i) => {
      const dashed =
        /<path class="baseline-series" d="M[^"]+" fill="none" stroke="#[0-9a-f]+" stroke-width="[\d.]+" stroke-dasharray="5 4"\/>/.test(
          sections[i],
        );
      expect(dashed).toBe(withBaseline[i]);
      expect(sections[i].includes('</svg>same hours a week earlier</li>')).toBe(withBaseline[i]);
    });
  });

  it('shows the verdicts in words, the table and the insufficient-data metric', () => {
    const { report, charts } = loadReport('regression');
    const html = renderReportPage(report, charts);
    expect(html).toMatch(/<p class="headline"><span class="badge badge-regression">regression<\/span>/);
    expect(html).toContain('<span class="badge badge-no_change">no change</span>');
    expect(html).toContain('<span class="badge badge-insufficient_data">insufficient data</span>');
    // Table: a header row with scoped columns and one scoped row header per metric.
    expect(count(html, '<th scope="col">')).toBe(7);
    expect(count(html, '<th scope="row">')).toBe(report.metrics.length);
    // Ratio figures are shares: the error-rate row reads "1.17% → 1.95%" from the fixture's rates.
    const ratio = report.metrics.find((m) => m.kind === 'ratio')!;
    expect(html).toContain(`${(ratio.before!.rate! * 100).toFixed(2)}% → ${(ratio.after!.rate! * 100).toFixed(2)}%`);
  });

  it('labels the axes with UTC times and the unit', () => {
    const { report, charts } = loadReport('regression');
    const sections = metricSections(renderReportPage(report, charts));
    report.metrics.forEach((m, i) => {
      expect(sections[i]).toContain('Time (UTC), 26 Nov 2026');
      expect(sections[i]).toContain('>14:00</text>');
      if (m.kind === 'ratio') expect(sections[i]).toMatch(/>\d+(\.\d+)?%<\/text>/);
      else expect(sections[i]).toContain(`>${m.unit}</text>`);
    });
  });

  it('gives every chart an accessible name and description that exist and are unique', () => {
    const { report, charts } = loadReport('regression');
    const html = renderReportPage(report, charts);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(count(html, '<h1>')).toBe(1);
    const labelled = [...html.matchAll(/<svg role="img" aria-labelledby="([^"]+)"/g)].map((m) => m[1].split(' '));
    expect(labelled).toHaveLength(report.metrics.length);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [titleId, descId] of labelled) {
      expect(html).toMatch(new RegExp(`<title id="${titleId}">[^<]+</title>`));
      const desc = new RegExp(`<desc id="${descId}">([^<]+)</desc>`).exec(html);
      expect(desc?.[1]).toMatch(/UTC/);
      expect(desc?.[1]).toContain('marked at 14:00');
    }
    // Every metric section is labelled by its own h2.
    report.metrics.forEach((_, i) => expect(html).toContain(`aria-labelledby="metric-${i}-h"`));
  });

  it('says what a pending report awaits and judges nothing yet', () => {
    const { report, charts } = loadReport('pending');
    const html = renderReportPage(report, charts);
    expect(html).toContain('<h2 id="status-h">Status: pending</h2>');
    for (const a of report.awaiting!) expect(html).toContain(`<li>${a}</li>`);
    expect(html).toMatch(/<p class="headline"><span class="badge badge-pending">pending<\/span>/);
    expect(html).not.toContain('class="badge badge-regression"');
    expect(count(html, '<span class="badge badge-pending">pending</span>')).toBe(1 + 2 * report.metrics.length);
    // Charts still draw what has arrived, with the event marker.
    expect(count(html, 'class="event-marker"')).toBe(report.metrics.length);
    expect(html).toContain('not complete yet');
  });

  it('is self-contained: no scripts, no external resources, no inline style attributes', () => {
    const { report, charts } = loadReport('regression');
    const html = renderReportPage(report, charts);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|\ssrc=|href="(?!#)/i);
    expect(html).not.toMatch(/\sstyle="/);
    expect(count(html, '<style>')).toBe(1);
  });

  it('renders a chart without points as an explicit empty chart', () => {
    const { report } = loadReport('regression');
    const html = renderReportPage(report, {});
    const sections = metricSections(html);
    for (const s of sections) {
      expect(s).toContain('No data points yet');
      expect(s).toContain('class="event-marker"');
    }
  });

  it('orders the table: regressions, improvements, then the rest; critical first in each; else as reported', () => {
    const { report, charts } = loadReport('regression');
    const base = report.metrics[3];
    const metric = (
      name: string,
      verdict: MetricReport['verdict'],
      critical: boolean,
      status: MetricReport['status'] = 'ready',
    ): MetricReport => ({ ...structuredClone(base), metric_id: `met_${name}`, name, verdict, critical, status });
    report.metrics = [
      metric('a no change', 'no_change', false),
      metric('b improvement', 'improvement', false),
      metric('c regression', 'regression', false),
      metric('d critical improvement', 'improvement', true),
      metric('e critical inconclusive', 'inconclusive', true),
      metric('f critical regression', 'regression', true),
      // Pending: its verdict is not shown, so it is not a regression yet.
      metric('g pending', 'regression', true, 'pending'),
      metric('h insufficient', 'insufficient_data', false),
      metric('i second regression', 'regression', false),
    ];
    const html = renderReportPage(report, charts);
    const rows = tableRows(html);
    expect(rows.map(([name]) => name)).toEqual([
      'f critical regression',
      'c regression',
      'i second regression',
      'd critical improvement',
      'b improvement',
      'e critical inconclusive',
      'g pending',
      'a no change',
      'h insufficient',
    ]);
    // Each row still links to its own metric's section (sections keep the report's order).
    for (const [name, id] of rows) expect(html).toContain(`<h2 id="${id}-h">${name}`);
    expect(metricSections(html).map((s) => /<h2 id="metric-\d+-h">([^<]*)/.exec(s)![1].trim())).toEqual(
      report.metrics.map((m) => m.name),
    );
  });

  it('draws the expected band and its dashed level over the after window, in the plotted units', () => {
    const { report, charts } = loadReport('regression');
    const sections = metricSections(renderReportPage(report, charts));
    const drawn = report.metrics.filter((m) => charts[m.metric_id].expected);
    // Every ready metric with a counterfactual has one: three against reference days, the gauge against last week.
    expect(drawn.map((m) => m.baseline?.kind)).toEqual([
      'reference_days',
      'reference_days',
      'reference_days',
      'seasonal_week',
    ]);
    report.metrics.forEach((m, i) => {
      const e = charts[m.metric_id].expected;
      const s = sections[i];
      expect(count(s, 'class="expected-band"')).toBe(e ? 1 : 0);
      expect(count(s, 'class="expected-line"')).toBe(e ? 1 : 0);
      expect(s.includes('<li class="legend-expected">')).toBe(Boolean(e));
      if (!e) return;
      if (m.baseline?.kind === 'reference_days') expect(s).toContain('expected (reference days)</li>');
      else expect(s).not.toContain('expected (reference days)');
      // The band spans the after window, lo to hi; the dashed line sits at the expected level, on the
      // same axis as the plotted series (a ratio's level is a fraction, as value / weight is).
      const band = /<rect class="expected-band" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(s)!;
      const after = /<rect class="window-after" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/.exec(s)!;
      expect(Number(band[1])).toBeCloseTo(Number(after[1]), 0);
      expect(Number(band[3])).toBeCloseTo(Number(after[2]), 0);
      const line =
        /<line class="expected-line" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)" stroke="#[0-9a-f]+" stroke-width="2" stroke-dasharray="8 3"\/>/.exec(
          s,
        )!;
      expect(line).toBeTruthy();
      const at = valueAtY(s, m.kind);
      const span = Math.abs(at(0) - at(100));
      expect(Math.abs(at(Number(line[1])) - e.value)).toBeLessThan(span * 0.02);
      expect(Math.abs(at(Number(band[2])) - e.hi!)).toBeLessThan(span * 0.02);
      expect(Math.abs(at(Number(band[2]) + Number(band[4])) - e.lo!)).toBeLessThan(span * 0.02);
      expect(s).toMatch(/<desc [^>]*>[^<]*a dashed line marks the level expected from/);
    });
    // Without an interval only the level is drawn; without `expected`, nothing.
    const ratio = report.metrics.findIndex((m) => m.kind === 'ratio');
    charts[report.metrics[ratio].metric_id].expected!.lo = null;
    delete charts[report.metrics[0].metric_id].expected;
    const again = metricSections(renderReportPage(report, charts));
    expect(count(again[ratio], 'class="expected-band"')).toBe(0);
    expect(count(again[ratio], 'class="expected-line"')).toBe(1);
    expect(count(again[0], 'class="expected-line"')).toBe(0);
    expect(again[0]).not.toContain('legend-expected');
  });

  it('shows the observed after level against the expected one, figures that agree with each other and the table', () => {
    const { report, charts } = loadReport('regression');
    const html = renderReportPage(report, charts);
    const sections = metricSections(html);
    report.metrics.forEach((m, i) => {
      const line = counterfactualLine(sections[i]);
      const cf = m.counterfactual;
      if (!cf) {
        expect(m.verdict).toBe('insufficient_data');
        expect(line).toBeNull();
        return;
      }
      const level = `${Math.round(m.change!.confidence * 100)}%`;
      const v = (x: number) => fmtValue(x, m.kind, m.unit);
      expect(line).toContain(`${v(cf.observed)} after vs ${v(cf.expected)} expected (${level} `);
      expect(line!.endsWith(`), ${fmtPct(cf.relative)}`)).toBe(true);
      // The printed figures agree: observed / expected − 1 is the printed change (to its rounding),
      // and it is the table's relative change.
      const [obs, exp] = line!.split(' after vs ').map((part) => parseFigure(part.split(' expected')[0]));
      const rel = parseFigure(line!.slice(line!.lastIndexOf(', ') + 2));
      expect(Math.abs(obs / exp - 1 - rel)).toBeLessThan(0.01 + Math.abs(rel) * 0.02);
      expect(fmtPct(m.change!.relative)).toBe(fmtPct(cf.relative));
      // The interval holds the expected level.
      const [lo, hi] = cf.expected_ci!;
      expect(lo).toBeLessThanOrEqual(cf.expected);
      expect(hi).toBeGreaterThanOrEqual(cf.expected);
    });
    // The p95 latency in full, in the page's number format.
    const p95 = report.metrics.findIndex((m) => m.metric_id === 'met_checkout_p95');
    const cf = report.metrics[p95].counterfactual!;
    const n = (x: number) => fmtValue(x, 'quantile', null);
    expect(counterfactualLine(sections[p95])).toBe(
      `${n(cf.observed)} ms after vs ${n(cf.expected)} ms expected (95% ${n(cf.expected_ci![0])}–${n(cf.expected_ci![1])} ms), ${fmtPct(cf.relative)}`,
    );
    // The table's expected column: the level and its interval (a share as percentages).
    const ratio = report.metrics.find((m) => m.kind === 'ratio')!;
    const r = ratio.counterfactual!;
    const pct = (x: number) => fmtValue(x, 'ratio', null);
    expect(html).toContain(
      `<td>${pct(r.expected)} <span class="muted">(95% ${pct(r.expected_ci![0])}–${pct(r.expected_ci![1])})</span></td>`,
    );
  });

  it("says how the reference days predicted the after window, and keeps the other baselines' words", () => {
    const { report, charts } = loadReport('regression');
    const baselineOf = (s: string) => /<dt>Baseline<\/dt><dd>([^]*?)<\/dd>/.exec(s)?.[1] ?? '';
    // Both calibrations, whichever the engine chose for the fixture: the first reference-day metric's
    // interval from the placebo spread, the last one's from the noise model.
    const byDays = report.metrics.filter((m) => m.baseline?.kind === 'reference_days');
    expect(byDays.length).toBeGreaterThanOrEqual(2);
    byDays[0].baseline!.calibration = 'placebo';
    byDays[byDays.length - 1].baseline!.calibration = 'model';
    let sections = metricSections(renderReportPage(report, charts));
    report.metrics.forEach((m, i) => {
      const text = baselineOf(sections[i]);
      if (m.baseline?.kind === 'reference_days') {
        expect(text).toMatch(
          new RegExp(`^predicted from ${m.baseline.reference_days} reference days \\(2026-11-19 to 2026-11-25\\)`),
        );
        expect(text.includes('interval widened to the placebo spread')).toBe(m.baseline.calibration === 'placebo');
        expect(text).toContain(`the raw before → after change was ${fmtPct(m.baseline.reference_change!)}`);
        expect(text).not.toContain('weekday pattern used');
        expect(text).not.toContain('left out');
      } else if (m.baseline?.kind === 'seasonal_week') {
        expect(text).toMatch(/^the same hours a week earlier \(difference in differences\); those hours moved by /);
      } else {
        expect(text).toBe('the before window');
      }
    });

    const b = report.metrics[0].baseline!;
    b.weekday_adjusted = true;
    b.explains_change = true;
    b.skipped_days = [
      { day: 3, reason: 'another event in its windows' },
      { day: 1, reason: 'under 80% of buckets present' },
    ];
    sections = metricSections(renderReportPage(report, charts));
    const text = baselineOf(sections[0]);
    expect(text).toContain('weekday pattern used');
    expect(text).toContain('the usual pattern of these hours rather than the event');
    expect(text).toContain(
      'left out: 3 days earlier (another event in its windows), 1 day earlier (under 80% of buckets present)',
    );
  });

  it('says in the footer what a relative change compares, for the baselines used', () => {
    const { report, charts } = loadReport('regression');
    const footer = () => /<footer><p>([^<]*)<\/p><\/footer>/.exec(renderReportPage(report, charts))![1];
    expect(footer()).toContain(
      'Relative changes are the observed after level versus the level expected without the event: predicted from reference days',
    );
    expect(footer()).toContain('with a seasonal baseline');
    for (const m of report.metrics) if (m.baseline) m.baseline = { kind: 'before_window' };
    expect(footer()).toBe(
      'All times are UTC. Relative changes are after versus before; q-values are adjusted for the number of metrics.',
    );
  });
});
