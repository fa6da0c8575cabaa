// The impact report as one self-contained HTML page for incident reviewers: verdict, event
// facts, status, a metrics table and one section per metric with its chart. No scripts, no
// external resources (it must work offline and print well); every user-provided string is escaped.
import { CHART_CSS, renderChart } from './chart.js';
import {
  BADGE_CSS,
  badge,
  cspHash,
  esc,
  fmtP,
  fmtPct,
  fmtTime,
  fmtValue,
  headline,
  headlineWord,
  headerRow,
  VERDICT_WORDS,
} from './html.js';
import type { ImpactReport, MetricReport, ReportCharts } from '../../domain/report.js';

/** The report's one <style> block (a constant, so a CSP can allow it by hash). */
export const REPORT_CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f3f4f6;color:#111827;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:980px;margin:0 auto;padding:1.5rem 1.25rem 3rem}
.sheet{background:#fff;border:1px solid #d1d5db;border-radius:8px;padding:1rem 1.25rem;margin:0 0 1rem}
.eyebrow{margin:0;color:#4b5563;font-size:.85rem;text-transform:uppercase;letter-spacing:.06em}
h1{font-size:1.6rem;margin:.2rem 0 .6rem;line-height:1.25;overflow-wrap:anywhere}
h2{font-size:1.2rem;margin:0 0 .6rem;overflow-wrap:anywhere}
.headline{font-size:1.05rem;margin:.3rem 0 0}
.headline .badge{font-size:1rem;margin-right:.5rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1.2rem;margin:0}
dl.facts dt{color:#4b5563}
dl.facts dd{margin:0;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
thead th{border-bottom:2px solid #9ca3af;color:#1f2937;white-space:nowrap}
tbody th{font-weight:600;overflow-wrap:anywhere}
td.num{white-space:nowrap}
a{color:#1d4ed8}
.status{border-left:4px solid #1d4ed8}
.status.failed{border-left-color:#b42318}
.muted{color:#4b5563}
.explanation{margin:.2rem 0 .4rem}
section.metric h2 .badge{margin-left:.5rem;vertical-align:middle}
ul.confounders{margin:.2rem 0;padding-left:1.2rem}
footer{color:#4b5563;font-size:.85rem}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
${BADGE_CSS}
${CHART_CSS}
@media print{
  body{background:none;color:#000;font-size:10.5pt}
  main{max-width:none;padding:0}
  .sheet{border:none;border-radius:0;padding:0;margin:0 0 10pt}
  section.metric{break-before:page}
  a{color:inherit;text-decoration:none}
  figure.chart>svg{max-width:100%}
  thead{display:table-header-group}
  tr{break-inside:avoid}
}
`;

/** CSP source allowing the report's style block. */
export const REPORT_STYLE_HASH = cspHash(REPORT_CSS);

const DIRECTION_WORDS: Record<MetricReport['direction'], string> = {
  increase_is_bad: 'an increase is bad',
  decrease_is_bad: 'a decrease is bad',
  either: 'any change is bad',
};

/** "deployment" from "dev.opstrails.deployment". */
function typeWord(type: string): string {
  return type.split('.').pop() || type;
}

function eventLabel(report: ImpactReport): string {
  const version = typeof report.event.version === 'string' ? ` ${report.event.version}` : '';
  return `${typeWord(report.event.type)}${version}`;
}

/** The event's time: its own `time`, else the middle of the gap between the windows. */
function eventTime(report: ImpactReport): number {
  const t = typeof report.event.time === 'string' ? Date.parse(report.event.time) : NaN;
  if (Number.isFinite(t)) return t;
  return (Date.parse(report.windows.before.to) + Date.parse(report.windows.after.from)) / 2;
}

function headlineBadge(report: ImpactReport): string {
  if (report.verdict === null && report.status === 'failed')
    return '<span class="badge badge-inconclusive">analysis failed</span>';
  return badge(report.status === 'pending' ? null : report.verdict);
}

function change(m: MetricReport): string {
  if (!m.change || m.change.relative === null)
    return m.change?.absolute != null
      ? `${m.change.absolute > 0 ? '+' : ''}${fmtValue(m.change.absolute, m.kind, m.unit)}`
      : 'n/a';
  const ci = m.change.ci
    ? ` <span class="muted">(${Math.round(m.change.confidence * 100)}% CI ${fmtPct(m.change.ci[0])} to ${fmtPct(m.change.ci[1])})</span>`
    : '';
  return `${fmtPct(m.change.relative)}${ci}`;
}

/** A figure with its unit as HTML that never breaks inside ("58.1 errors/min"), so a table cell may wrap between figures. */
const figure = (text: string) => esc(text).replace(/ /g, '&nbsp;');

function beforeAfter(m: MetricReport): string {
  const b = fmtValue(headline(m.kind, m.before), m.kind, m.unit);
  const a = m.after ? fmtValue(headline(m.kind, m.after), m.kind, m.unit) : 'pending';
  return `${figure(b)} → ${figure(a)}`;
}

/** "320–360 ms": both ends in the page's number format, the unit once (shares keep their % on each end). */
function fmtRange(lo: number, hi: number, kind: MetricReport['kind'], unit: string | null): string {
  const end = (x: number) => fmtValue(x, kind, kind === 'ratio' ? unit : null);
  return `${end(lo)}–${end(hi)}${kind !== 'ratio' && unit ? ` ${unit}` : ''}`;
}

/** The interval of the expected after level, "95% 320–360 ms", or null without one. */
function expectedInterval(m: MetricReport): string | null {
  const ci = m.counterfactual?.expected_ci;
  if (!ci) return null;
  const level = m.change ? `${Math.round(m.change.confidence * 100)}% ` : '';
  return `${level}${fmtRange(ci[0], ci[1], m.kind, m.unit)}`;
}

/** The table's expected after level (HTML): the level, its interval muted and free to wrap. */
function expectedCell(m: MetricReport): string {
  const cf = m.counterfactual;
  if (!cf) return m.status === 'pending' ? 'pending' : 'n/a';
  const ci = expectedInterval(m);
  return `${figure(fmtValue(cf.expected, m.kind, m.unit))}${ci ? ` <span class="muted">(${esc(ci)})</span>` : ''}`;
}

/**
 * The counterfactual in one line, all three figures from the same object so they agree:
 * "312 ms after vs 340 ms expected (95% 320–360 ms), −8.2%" (relative = observed / expected − 1).
 */
function afterVsExpected(m: MetricReport): string | null {
  const cf = m.counterfactual;
  if (!cf) return null;
  const ci = expectedInterval(m);
  return `${fmtValue(cf.observed, m.kind, m.unit)} after vs ${fmtValue(cf.expected, m.kind, m.unit)} expected${ci ? ` (${ci})` : ''}, ${fmtPct(cf.relative)}`;
}

/** Table order: regressions, then improvements, then the rest; critical metrics first within each. */
function tableRank(m: MetricReport): number {
  const verdict = m.status === 'pending' ? null : m.verdict;
  const group = verdict === 'regression' ? 0 : verdict === 'improvement' ? 1 : 2;
  return group * 2 + (m.critical ? 0 : 1);
}

/** The metrics with their index in the report (their section's id), in table order; ties keep the report's order. */
function tableOrder(metrics: MetricReport[]): { m: MetricReport; i: number }[] {
  return metrics.map((m, i) => ({ m, i })).sort((a, b) => tableRank(a.m) - tableRank(b.m) || a.i - b.i);
}

function metricsTable(report: ImpactReport): string {
  const rows = tableOrder(report.metrics).map(
    ({ m, i }) => `<tr>
<th scope="row"><a href="#metric-${i}">${esc(m.name)}</a></th>
<td>${m.critical ? 'critical' : '<span class="muted">no</span>'}</td>
<td>${badge(m.status === 'pending' ? null : m.verdict)}</td>
<td>${beforeAfter(m)}</td>
<td>${expectedCell(m)}</td>
<td>${change(m)}</td>
<td class="num">${fmtP(m.test?.q_value)}</td>
</tr>`,
  );
  return `<table>
<caption class="sr-only">Verdict and change of each metric, regressions first</caption>
${headerRow(['Metric', 'Critical', 'Verdict', 'Before → after', 'Expected after', 'Relative change', 'q-value'])}
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

function metricDetails(m: MetricReport): string {
  const facts: [string, string][] = [];
  facts.push([
    'Kind',
    `${esc(m.kind)}, figure: ${headlineWord(m.kind)}; ${DIRECTION_WORDS[m.direction] ?? esc(m.direction)}`,
  ]);
  facts.push([
    'Windows',
    `before ${esc(fmtTime(m.windows.before.from))} – ${esc(fmtTime(m.windows.before.to))}; ` +
      `after ${esc(fmtTime(m.windows.after.from))} – ${esc(fmtTime(m.windows.after.to))}`,
  ]);
  if (m.test) {
    const stat =
      m.test.statistic !== null && Number.isFinite(m.test.statistic)
        ? `, statistic ${Number(m.test.statistic.toPrecision(3))}`
        : '';
    facts.push([
      'Test',
      `<code>${esc(m.test.method)}</code>${stat}, p ${fmtP(m.test.p_value)}, q ${fmtP(m.test.q_value)} (Benjamini–Hochberg across this event's metrics)`,
    ]);
  }
  const vs = afterVsExpected(m);
  if (vs) facts.push(['After vs expected', `<span class="counterfactual">${esc(vs)}</span>`]);
  facts.push(['Threshold', `±${fmtPct(m.threshold, false)} relative (smaller changes count as no change)`]);
  if (m.baseline)
    facts.push([
      'Baseline',
      m.baseline.kind === 'reference_days' ? referenceDaysText(m.baseline) : singleBaselineText(m.baseline),
    ]);
  if (m.data_quality) {
    const q = m.data_quality;
    const notes = [
      `missing buckets: ${q.missing.before} of ${q.expected.before} before, ${q.missing.after} of ${q.expected.after} after`,
    ];
    if (q.low_counts) notes.push('low counts');
    if (q.late_data_pending) notes.push('late data still expected');
    if (q.autocorrelation !== null && Number.isFinite(q.autocorrelation))
      notes.push(`lag-1 autocorrelation ${q.autocorrelation.toFixed(2)}`);
    if (q.history_buckets)
      notes.push(
        m.baseline?.kind === 'reference_days'
          ? `today's level from ${q.history_buckets} earlier buckets and the before window`
          : `noise model also from ${q.history_buckets} earlier buckets`,
      );
    facts.push(['Data quality', notes.join('; ')]);
  }
  if (m.minimum_detectable_effect !== null && Number.isFinite(m.minimum_detectable_effect)) {
    facts.push(['Detectable change', `about ±${fmtPct(m.minimum_detectable_effect, false)} (80% power)`]);
  }
  if (m.onset) {
    const when =
      m.onset.minutes_from_event < 0
        ? `${Math.round(-m.onset.minutes_from_event)} min before`
        : `${Math.round(m.onset.minutes_from_event)} min after`;
    facts.push([
      'Level shift',
      `${esc(fmtTime(m.onset.ts))} (${when} the event)${m.onset.before_event ? ' — it began before the event' : ''}`,
    ]);
  }
  if (m.reason) facts.push(['Reason', esc(m.reason)]);
  const conf = m.confounders.length
    ? `<ul class="confounders">${m.confounders
        .map(
          (c) =>
            `<li>${esc(c.type)} <code>${esc(c.id)}</code> at ${esc(fmtTime(c.time))}, ` +
            `in the ${esc(c.window)} window (touches ${Math.round(c.coverage * 100)}% of it)</li>`,
        )
        .join('')}</ul>`
    : 'none';
  facts.push(['Other events', conf]);
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

type Baseline = NonNullable<MetricReport['baseline']>;

/** The plain before window, or one earlier copy of the same hours (difference in differences). */
function singleBaselineText(b: Baseline): string {
  const seasonal = b.kind !== 'before_window';
  const span = b.kind === 'seasonal_day' ? 'day' : 'week';
  let text = seasonal ? `the same hours a ${span} earlier (difference in differences)` : 'the before window';
  if (seasonal && b.reference_change != null) text += `; those hours moved by ${fmtPct(b.reference_change)}`;
  if (b.explains_change) text += ', which explains the raw before/after difference';
  return text;
}

/** "3 days earlier": how reference days are named (their number counts back from the event). */
const daysEarlier = (day: number) => `${day} day${day === 1 ? '' : 's'} earlier`;

/**
 * The counterfactual from reference days: how many, what widened or shaped the prediction, the
 * raw before → after change it replaces (and whether that was just the usual pattern of these
 * hours), and which days were left out and why.
 */
function referenceDaysText(b: Baseline): string {
  const n = b.reference_days ?? b.days?.length ?? 0;
  const dates = (b.days ?? []).map((d) => d.date).sort();
  const span = dates.length > 1 ? ` (${esc(dates[0])} to ${esc(dates[dates.length - 1])})` : '';
  const notes = [
    `predicted from ${n} reference day${n === 1 ? '' : 's'}${span}, the same hours scaled to today's level before the event`,
  ];
  if (b.calibration === 'placebo')
    notes.push(`interval widened to the placebo spread${b.placebo ? ` (${b.placebo.placebos} placebo events)` : ''}`);
  if (b.calibration === 'pooled' && b.placebo?.pooled)
    notes.push(`interval widened to the placebo spread of this and ${b.placebo.pooled.events} earlier events`);
  if (b.weekday_adjusted) notes.push('weekday pattern used');
  if (b.reference_change != null) {
    notes.push(
      `the raw before → after change was ${fmtPct(b.reference_change)}${b.explains_change ? ', the usual pattern of these hours rather than the event' : ''}`,
    );
  }
  if (b.skipped_days?.length)
    notes.push(`left out: ${b.skipped_days.map((d) => `${daysEarlier(d.day)} (${esc(d.reason)})`).join(', ')}`);
  return notes.join('; ');
}

/** The footer's sentence on what a relative change compares, for the baselines this report used. */
function relativeChangeNote(report: ImpactReport): string {
  const kinds = new Set(report.metrics.map((m) => m.baseline?.kind));
  const seasonal = kinds.has('seasonal_week') || kinds.has('seasonal_day');
  const seasonalNote = ' (or, with a seasonal baseline, the change beyond the same hours a week or day earlier)';
  if (!kinds.has('reference_days')) return `Relative changes are after versus before${seasonal ? seasonalNote : ''}`;
  return (
    'Relative changes are the observed after level versus the level expected without the event: ' +
    'predicted from reference days (the same hours on earlier days) where they were used, ' +
    `else the before level${seasonal ? seasonalNote : ''}`
  );
}

function statusSection(report: ImpactReport): string {
  if (report.status === 'ready') return '';
  const awaiting = report.awaiting?.length
    ? `<p>Awaiting:</p><ul>${report.awaiting.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>`
    : '';
  const lead =
    report.status === 'pending'
      ? 'This report is not final: the verdicts appear once the after window has closed and its data has arrived.'
      : report.status === 'partial'
        ? 'Some metrics are still pending or failed; the verdict covers the metrics that are ready.'
        : 'The analysis failed; the figures below may be incomplete.';
  return `<section class="sheet status ${esc(report.status)}" aria-labelledby="status-h">
<h2 id="status-h">Status: ${esc(report.status)}</h2>
<p>${lead}</p>
${awaiting}
</section>`;
}

/** The report page (a complete HTML document). */
export function renderReportPage(report: ImpactReport, charts: ReportCharts): string {
  const ev = report.event;
  const label = eventLabel(report);
  const t = eventTime(report);
  const subject = typeof ev.subject === 'string' ? ev.subject : null;
  const facts: [string, string][] = [
    ['Type', `<code>${esc(ev.type)}</code>`],
    ['Subject', subject ? esc(subject) : '<span class="muted">none</span>'],
    ['Version', typeof ev.version === 'string' ? esc(ev.version) : '<span class="muted">none</span>'],
    ['Time', esc(fmtTime(t))],
    ['Source', `<code>${esc(ev.source)}</code>`],
    ['Event id', `<code>${esc(ev.id)}</code>`],
    [
      'Windows',
      `before ${esc(fmtTime(report.windows.before.from))} – ${esc(fmtTime(report.windows.before.to))}, ` +
        `gap ${esc(report.windows.gap)}, ` +
        `after ${esc(fmtTime(report.windows.after.from))} – ${esc(fmtTime(report.windows.after.to))}`,
    ],
    ['Computed', report.computed_at ? esc(fmtTime(report.computed_at)) : '<span class="muted">not yet</span>'],
  ];
  const sections = report.metrics.map(
    (m, i) => `<section class="sheet metric" id="metric-${i}" aria-labelledby="metric-${i}-h">
<h2 id="metric-${i}-h">${esc(m.name)}${m.critical ? ' <span class="muted">(critical)</span>' : ''} ${badge(m.status === 'pending' ? null : m.verdict)}</h2>
<p class="explanation">${esc(m.explanation)}</p>
${renderChart(m, charts[m.metric_id], { eventTime: t, eventLabel: label, index: i })}
${metricDetails(m)}
</section>`,
  );
  const verdictWord =
    report.status === 'pending' || report.verdict === null ? VERDICT_WORDS.pending : VERDICT_WORDS[report.verdict];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(`Impact of ${label}${subject ? ` on ${subject}` : ''}: ${verdictWord}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header class="sheet">
<p class="eyebrow">OpsTrails impact report</p>
<h1>Impact of ${esc(label)}${subject ? ` on ${esc(subject)}` : ''}</h1>
<p class="headline">${headlineBadge(report)}<span class="explanation">${esc(report.explanation)}</span></p>
</header>
${statusSection(report)}
<section class="sheet" aria-labelledby="event-h">
<h2 id="event-h">Event</h2>
<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
</section>
<section class="sheet" aria-labelledby="metrics-h">
<h2 id="metrics-h">Metrics</h2>
${report.metrics.length ? metricsTable(report) : '<p>No metrics apply to this event.</p>'}
</section>
${sections.join('\n')}
<footer><p>All times are UTC. ${relativeChangeNote(report)}; q-values are adjusted for the number of metrics.</p></footer>
</main>
</body>
</html>
`;
}
