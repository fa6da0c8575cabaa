// Shared helpers of the HTML pages: escaping, CSP hashes of inline blocks, and the number,
// time and verdict wording every page uses the same way.
import { createHash } from 'node:crypto';
import type { MetricReport, MetricVerdict, WindowSummary } from '../../domain/report.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML/SVG element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The CSP source expression ('sha256-…') allowing one exact inline <script> or <style> body. */
export function cspHash(body: string): string {
  return `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;
}

/** Verdict words people read; the badge always carries the word, never colour alone. */
export const VERDICT_WORDS: Record<MetricVerdict | 'pending', string> = {
  regression: 'regression',
  improvement: 'improvement',
  no_change: 'no change',
  inconclusive: 'inconclusive',
  insufficient_data: 'insufficient data',
  pending: 'pending',
};

/** A verdict badge (a `pending` one when the verdict is null). */
export function badge(verdict: MetricVerdict | null): string {
  const v = verdict ?? 'pending';
  return `<span class="badge badge-${v}">${VERDICT_WORDS[v]}</span>`;
}

/** A table's header row: one column header per title (titles are trusted markup). */
export function headerRow(titles: string[]): string {
  return `<thead><tr>${titles.map((t) => `<th scope="col">${t}</th>`).join('')}</tr></thead>`;
}

/** Badge colours: white text on each fill has a contrast ratio of at least 4.5:1 (WCAG AA). */
export const BADGE_CSS = `
.badge{display:inline-block;padding:.1em .55em;border-radius:.8em;font-size:.85em;font-weight:600;line-height:1.5;
white-space:nowrap;border:1.5px solid transparent;color:#fff}
.badge-regression{background:#b42318}
.badge-improvement{background:#1a6b35}
.badge-no_change{background:#4b5563}
.badge-inconclusive{background:#8a4b00}
.badge-insufficient_data{background:#fff;color:#374151;border-color:#6b7280;border-style:dashed}
.badge-pending{background:#1d4ed8}
@media print{.badge{background:none!important;color:#000!important;border-color:#000}}
`;

const MINUS = '\u2212';

/** A signed percentage with sensible precision: +47%, −2.0%, +0.54%. */
export function fmtPct(x: number | null | undefined, signed = true): string {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return x > 0 ? '+∞%' : `${MINUS}∞%`;
  const v = x * 100;
  const a = Math.abs(v);
  const s = a >= 10 ? a.toFixed(0) : a >= 1 ? a.toFixed(1) : a.toFixed(2);
  const sign = v < 0 ? MINUS : signed && v > 0 ? '+' : '';
  return `${sign}${s}%`;
}

/** A plain number: three significant digits, thousands separated. */
export function fmtNumber(x: number): string {
  const a = Math.abs(x);
  if (a === 0) return '0';
  const s = a >= 1000 ? Math.round(a).toLocaleString('en-US') : String(Number(a.toPrecision(3)));
  return (x < 0 ? MINUS : '') + s;
}

/** A metric value with its unit; ratios are shown as percentages. */
export function fmtValue(x: number | null | undefined, kind: MetricReport['kind'], unit: string | null): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  if (kind === 'ratio') {
    const v = x * 100;
    return `${Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2)}%`;
  }
  return unit ? `${fmtNumber(x)} ${unit}` : fmtNumber(x);
}

/** The headline figure of a window: rate for counts and ratios, median for quantiles, mean for gauges. */
export function headline(kind: MetricReport['kind'], s: WindowSummary | null): number | null {
  if (!s) return null;
  if (kind === 'count' || kind === 'ratio') return s.rate;
  if (kind === 'quantile') return s.median;
  return s.mean;
}

/** What the headline figure is, in words. */
export function headlineWord(kind: MetricReport['kind']): string {
  return kind === 'count'
    ? 'mean per minute bucket'
    : kind === 'ratio'
      ? 'ratio of sums'
      : kind === 'quantile'
        ? 'median of buckets'
        : 'mean';
}

/** A q- or p-value: "< 0.001" or two significant digits. */
export function fmtP(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return 'n/a';
  return p < 0.001 ? '< 0.001' : String(Number(p.toPrecision(2)));
}

/** An instant as "2026-11-26 14:00 UTC" (seconds shown only when not zero). */
export function fmtTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined) return 'n/a';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return String(t);
  const s = new Date(ms).toISOString();
  const secs = s.slice(17, 19);
  return `${s.slice(0, 10)} ${s.slice(11, 16)}${secs === '00' ? '' : `:${secs}`} UTC`;
}

/** Clock time "14:05" (UTC). */
export function fmtClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
