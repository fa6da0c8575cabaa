// The report page renderer: escaping, one chart per metric with its markers, the baseline,
// the pending state, accessible names and self-containment. Plain strings in, HTML out.
import { describe, expect, it } from 'vitest';
import { renderReportPage } from '../../api/pages/report.js';
import { loadReport } from './fixtures.js';

/** The HTML of each metric section, in order. */
function metricSections(html: string): string[] {
  return html.split('<section class="sheet metric"').slice(1).map((s) => s.slice(0, s.indexOf('</section>')));
}

const count = (html: string, needle: string | RegExp) => html.split(needle).length - 1;

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

  it('says how many earlier buckets fed the noise model, only when some did', () => {
    const { report, charts } = loadReport('regression');
    report.metrics[0].data_quality!.history_buckets = 240;
    if (report.metrics[1].data_quality) report.metrics[1].data_quality.history_buckets = 0;
    const sections = metricSections(renderReportPage(report, charts));
    expect(sections[0]).toContain('noise model also from 240 earlier buckets');
    expect(sections[1]).not.toContain('noise model');
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
    const sections = metricSections(renderReportPage(report, charts));
    const withBaseline = report.metrics.map((m) => Boolean(charts[m.metric_id].baseline?.length));
    expect(withBaseline.filter(Boolean).length).toBe(2);
    report.metrics.forEach((_, i) => {
      const dashed = /<path class="baseline-series" d="M[^"]+" fill="none" stroke="#[0-9a-f]+" stroke-width="[\d.]+" stroke-dasharray="5 4"\/>/.test(sections[i]);
      expect(dashed).toBe(withBaseline[i]);
      expect(sections[i].includes('same hours a week earlier')).toBe(withBaseline[i]);
    });
  });

  it('shows the verdicts in words, the table and the insufficient-data metric', () => {
    const { report, charts } = loadReport('regression');
    const html = renderReportPage(report, charts);
    expect(html).toMatch(/<p class="headline"><span class="badge badge-regression">regression<\/span>/);
    expect(html).toContain('<span class="badge badge-no_change">no change</span>');
    expect(html).toContain('<span class="badge badge-insufficient_data">insufficient data</span>');
    // Table: a header row with scoped columns and one scoped row header per metric.
    expect(count(html, '<th scope="col">')).toBe(6);
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
});
