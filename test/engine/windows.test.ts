// Windows: duration parsing, per-type defaults, overrides and step alignment.
import { describe, expect, it } from 'vitest';
import { knownEventType } from '../../domain/event.js';
import { computeWindows, parseDuration } from '../../engine/windows.js';

const MIN = 60_000;
describe('parseDuration', () => {
  it.each([
    ['PT1H', 60 * MIN],
    ['PT90S', 90_000],
    ['P1D', 1440 * MIN],
    ['PT1H30M', 90 * MIN],
    ['P1W', 7 * 1440 * MIN],
    ['PT0.5H', 30 * MIN],
    ['60m', 60 * MIN],
    ['2h', 120 * MIN],
    ['1h30m', 90 * MIN],
    ['90s', 90_000],
    ['1d', 1440 * MIN],
    [' 45m ', 45 * MIN],
    [300_000, 300_000],
  ] as const)('%s', (input, ms) => expect(parseDuration(input)).toBe(ms));
  it.each(['', 'P', 'PT', 'abc', '60', '-5m', 'P1Y', '1 hour', 'PT1H junk'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(RangeError);
  });
});

describe('computeWindows', () => {
  const t = Date.UTC(2026, 0, 10, 12, 0, 30);
  it('deployment defaults: 60 min before / 60 min after / 5 min gap, whole buckets only', () => {
    const w = computeWindows({ time: t, type: 'deployment', stepSeconds: 60 });
    expect(w.before).toEqual({ from: Date.UTC(2026, 0, 10, 10, 55), to: Date.UTC(2026, 0, 10, 11, 55) });
    expect(w.after).toEqual({ from: Date.UTC(2026, 0, 10, 12, 6), to: Date.UTC(2026, 0, 10, 13, 6) });
    expect(w.seasonal.week.before.from).toBe(w.before.from - 7 * 86_400_000);
    expect(w.seasonal.day.after.to).toBe(w.after.to - 86_400_000);
    // The noise-model history: four before-window lengths ahead of the before window, on the
    // hour grid (the last multiple of 60 min at or before its start), so nearby events share it.
    expect(w.history).toEqual({ from: Date.UTC(2026, 0, 10, 6, 0), to: Date.UTC(2026, 0, 10, 10, 0) });
    const later = computeWindows({ time: t + 4 * 60_000, type: 'deployment', stepSeconds: 60 });
    expect(later.history).toEqual(w.history);
    expect(computeWindows({ time: t + 50 * 60_000, type: 'deployment', stepSeconds: 60 }).history.to).toBe(
      Date.UTC(2026, 0, 10, 11, 0),
    );
    // Longer windows read fewer stretches (about 240 buckets of history, at least one stretch).
    const span = (w2: { history: { from: number; to: number } }) => (w2.history.to - w2.history.from) / 3_600_000;
    expect(span(computeWindows({ time: t, type: 'deployment', stepSeconds: 60, metric: { before: '2h' } }))).toBe(4);
    expect(span(computeWindows({ time: t, type: 'deployment', stepSeconds: 60, metric: { before: '1d' } }))).toBe(24);
    expect(span(computeWindows({ time: t, type: 'deployment', stepSeconds: 600, metric: { before: '2h' } }))).toBe(8);
  });
  it('matches reverse-DNS types and uses the incident defaults', () => {
    expect(knownEventType('dev.opstrails.incident')).toBe('incident');
    expect(knownEventType('com.example.deploymentish')).toBeNull();
    const w = computeWindows({ time: t, type: 'dev.opstrails.incident', stepSeconds: 60 });
    expect(w.before_ms).toBe(30 * MIN);
    expect(w.after_ms).toBe(120 * MIN);
  });
  it('request overrides beat metric overrides beat type defaults; lengths round up to steps', () => {
    const w = computeWindows({
      time: t,
      type: 'deployment',
      stepSeconds: 300,
      metric: { before: '2h', after: 'PT30M', gap: '0m' },
      request: { after: '61m' },
    });
    expect(w.before_ms).toBe(120 * MIN);
    expect(w.after_ms).toBe(65 * MIN);
    expect(w.gap_ms).toBe(0);
    expect(w.before.to % 300_000).toBe(0);
    expect(w.after.from).toBeGreaterThanOrEqual(t);
  });
  it('takes epoch ms only and rejects a time that is not finite', () => {
    expect(() => computeWindows({ time: NaN, type: 'deployment', stepSeconds: 60 })).toThrow(RangeError);
    expect(() => computeWindows({ time: Infinity, type: 'deployment', stepSeconds: 60 })).toThrow(/invalid time/);
  });
});
