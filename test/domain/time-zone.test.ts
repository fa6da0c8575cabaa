// Unit tests of the shared local-time <-> UTC module used by the GA4 and Adobe connectors.
// Expected transitions are the 2026 rules as printed by the system tz database, not by Intl:
//   zdump -v -c 2026,2027 America/Los_Angeles Europe/Berlin America/St_Johns
// Los Angeles: PST→PDT at 2026-03-08 10:00 UT (02:00→03:00), PDT→PST at 2026-11-01 09:00 UT (02:00→01:00).
// Berlin: CET→CEST at 2026-03-29 01:00 UT (02:00→03:00), CEST→CET at 2026-10-25 01:00 UT (03:00→02:00).
// St John's (−03:30/−02:30): NDT→NST at 2026-11-01 04:30 UT (02:00→01:00).
import { describe, expect, it } from 'vitest';
import {
  instantsAt,
  isKnownTimeZone,
  MAX_EAST_OFFSET_MS,
  MAX_WEST_OFFSET_MS,
  wallClockFields,
  wallClockOf,
} from '../../domain/time-zone.js';

const LA = 'America/Los_Angeles';
const BERLIN = 'Europe/Berlin';

describe('timezone: wall clock of an instant', () => {
  it('reads the local fields, month 1-based and hour 0–23', () => {
    expect(wallClockFields(Date.UTC(2026, 6, 1, 12, 0, 5), LA)).toEqual({
      year: 2026,
      month: 7,
      day: 1,
      hour: 5,
      minute: 0,
      second: 5,
    });
    expect(wallClockFields(Date.UTC(2026, 0, 1, 0, 0), BERLIN)).toEqual({
      year: 2026,
      month: 1,
      day: 1,
      hour: 1,
      minute: 0,
      second: 0,
    });
    // Local midnight is hour 0, not 24.
    expect(wallClockFields(Date.UTC(2026, 0, 1, 23, 0), BERLIN)).toEqual({
      year: 2026,
      month: 1,
      day: 2,
      hour: 0,
      minute: 0,
      second: 0,
    });
    expect(wallClockFields(Date.UTC(2026, 6, 1, 20, 0), 'Asia/Kolkata')).toEqual({
      year: 2026,
      month: 7,
      day: 2,
      hour: 1,
      minute: 30,
      second: 0,
    });
  });

  it('keeps milliseconds, also before 1970', () => {
    expect(wallClockOf(Date.UTC(2026, 10, 1, 12, 0, 0, 250), LA)).toBe(Date.UTC(2026, 10, 1, 4, 0, 0, 250));
    expect(wallClockOf(Date.UTC(1969, 11, 31, 23, 59, 59, 999), 'UTC')).toBe(Date.UTC(1969, 11, 31, 23, 59, 59, 999));
  });

  it('changes offset exactly at the transition instants', () => {
    expect(wallClockOf(Date.UTC(2026, 2, 8, 9, 59), LA)).toBe(Date.UTC(2026, 2, 8, 1, 59));
    expect(wallClockOf(Date.UTC(2026, 2, 8, 10, 0), LA)).toBe(Date.UTC(2026, 2, 8, 3, 0));
    expect(wallClockOf(Date.UTC(2026, 9, 25, 0, 59), BERLIN)).toBe(Date.UTC(2026, 9, 25, 2, 59));
    expect(wallClockOf(Date.UTC(2026, 9, 25, 1, 0), BERLIN)).toBe(Date.UTC(2026, 9, 25, 2, 0));
  });

  it('stays within the Earth-wide offset bounds, which the extreme zones reach', () => {
    const t = Date.UTC(2026, 5, 15, 12, 0);
    expect(wallClockOf(t, 'Pacific/Kiritimati') - t).toBe(MAX_EAST_OFFSET_MS);
    expect(wallClockOf(t, 'Etc/GMT+12') - t).toBe(-MAX_WEST_OFFSET_MS);
  });
});

describe('timezone: instants of a local wall time', () => {
  it('America/Los_Angeles spring-forward: 02:xx does not exist, its neighbours do once', () => {
    expect(instantsAt(Date.UTC(2026, 2, 8, 2, 0), LA)).toEqual([]);
    expect(instantsAt(Date.UTC(2026, 2, 8, 2, 30), LA)).toEqual([]);
    expect(instantsAt(Date.UTC(2026, 2, 8, 1, 59), LA)).toEqual([Date.UTC(2026, 2, 8, 9, 59)]);
    expect(instantsAt(Date.UTC(2026, 2, 8, 3, 0), LA)).toEqual([Date.UTC(2026, 2, 8, 10, 0)]);
  });

  it('America/Los_Angeles fall-back: 01:xx happens twice, PDT first then PST', () => {
    expect(instantsAt(Date.UTC(2026, 10, 1, 1, 0), LA)).toEqual([
      Date.UTC(2026, 10, 1, 8, 0),
      Date.UTC(2026, 10, 1, 9, 0),
    ]);
    expect(instantsAt(Date.UTC(2026, 10, 1, 1, 30), LA)).toEqual([
      Date.UTC(2026, 10, 1, 8, 30),
      Date.UTC(2026, 10, 1, 9, 30),
    ]);
    expect(instantsAt(Date.UTC(2026, 10, 1, 0, 59), LA)).toEqual([Date.UTC(2026, 10, 1, 7, 59)]);
    expect(instantsAt(Date.UTC(2026, 10, 1, 2, 0), LA)).toEqual([Date.UTC(2026, 10, 1, 10, 0)]);
  });

  it('Europe/Berlin: a gap in March and a repeated hour in October', () => {
    expect(instantsAt(Date.UTC(2026, 2, 29, 2, 30), BERLIN)).toEqual([]);
    expect(instantsAt(Date.UTC(2026, 2, 29, 3, 0), BERLIN)).toEqual([Date.UTC(2026, 2, 29, 1, 0)]);
    expect(instantsAt(Date.UTC(2026, 9, 25, 2, 30), BERLIN)).toEqual([
      Date.UTC(2026, 9, 25, 0, 30),
      Date.UTC(2026, 9, 25, 1, 30),
    ]);
    expect(instantsAt(Date.UTC(2026, 6, 1, 12, 0), BERLIN)).toEqual([Date.UTC(2026, 6, 1, 10, 0)]);
  });

  it("half-hour zones: Asia/Kolkata (+05:30) and St John's repeated hour (−02:30 then −03:30)", () => {
    expect(instantsAt(Date.UTC(2026, 6, 1, 12, 0), 'Asia/Kolkata')).toEqual([Date.UTC(2026, 6, 1, 6, 30)]);
    expect(instantsAt(Date.UTC(2026, 10, 1, 1, 30), 'America/St_Johns')).toEqual([
      Date.UTC(2026, 10, 1, 4, 0),
      Date.UTC(2026, 10, 1, 5, 0),
    ]);
  });

  it('each returned instant reads back as the asked wall time, in every hour of a transition day', () => {
    for (const [zone, day] of [
      [LA, Date.UTC(2026, 10, 1)],
      [LA, Date.UTC(2026, 2, 8)],
      [BERLIN, Date.UTC(2026, 9, 25)],
    ] as const) {
      for (let wall = day; wall < day + 86_400_000; wall += 900_000) {
        for (const t of instantsAt(wall, zone)) expect(wallClockOf(t, zone)).toBe(wall);
      }
    }
  });
});

describe('timezone: zone validity', () => {
  it('knows IANA names and their aliases, and rejects others', () => {
    for (const zone of [LA, BERLIN, 'US/Pacific', 'Asia/Kolkata', 'UTC'])
      expect(isKnownTimeZone(zone), zone).toBe(true);
    for (const zone of ['Mars/Olympus_Mons', 'Europe/Berlinn', '']) expect(isKnownTimeZone(zone), zone).toBe(false);
  });
});
