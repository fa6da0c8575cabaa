// Plans as data: the documented defaults, the operator's overrides, the quota's month.
import { describe, expect, it } from 'vitest';
import { DEFAULT_PLAN_LIMITS, parsePlans, quotaPeriod, RETENTION_DAYS } from '../../domain/plan.js';

describe('parsePlans', () => {
  it('overrides only the plans and settings named', () => {
    const parsed = parsePlans(' free:retention=14, events=20000 ; pro:events=1000000;');
    expect(parsed).toEqual({
      ok: true,
      plans: {
        free: { retention_days: 14, events_per_month: 20_000 },
        starter: DEFAULT_PLAN_LIMITS.starter,
        pro: { retention_days: 90, events_per_month: 1_000_000 },
      },
    });
  });

  it('gives the defaults for an empty text and keeps them unchanged', () => {
    expect(parsePlans('')).toEqual({ ok: true, plans: DEFAULT_PLAN_LIMITS });
    parsePlans('free:retention=1');
    expect(DEFAULT_PLAN_LIMITS.free.retention_days).toBe(7);
  });

  it.each([
    ['gold:retention=7', 'unknown plan "gold"'],
    ['free', 'has no settings'],
    ['free:retention=7;free:events=1', 'given twice'],
    ['free:storage=7', '"storage=7"'],
    ['free:retention=seven', '"retention=seven"'],
    ['free:retention=0', 'from 1 to 3650'],
    ['free:retention=4000', 'from 1 to 3650'],
    ['free:events=-5', '"events=-5"'],
  ])('refuses %s', (text, reason) => {
    const parsed = parsePlans(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });
});

it('keeps RETENTION_DAYS the default table', () => {
  expect(RETENTION_DAYS).toEqual({ free: 7, starter: 30, pro: 90 });
});

it('quotaPeriod is the calendar month in UTC', () => {
  expect(quotaPeriod(Date.UTC(2026, 11, 31, 23, 59))).toEqual({
    start: Date.UTC(2026, 11, 1),
    end: Date.UTC(2027, 0, 1),
  });
  expect(quotaPeriod(Date.UTC(2026, 1, 1))).toEqual({ start: Date.UTC(2026, 1, 1), end: Date.UTC(2026, 2, 1) });
});
