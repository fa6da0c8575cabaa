// The one ETag formula and If-None-Match matching (RFC 9110 13.1.2, weak comparison).
import { describe, expect, it } from 'vitest';
import { etagOf, matchesIfNoneMatch } from '../../api/etag.js';

describe('etagOf', () => {
  it('is a strong, quoted tag that follows the version and names its representation', () => {
    const version = { status: 'ready', metrics: [{ id: 'm1', verdict: 'no_change' }] };
    const json = etagOf(version);
    expect(json).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf(structuredClone(version))).toBe(json);
    expect(etagOf({ ...version, status: 'partial' })).not.toBe(json);
    expect(etagOf(version, 'html')).toBe(json.replace(/"$/, '-html"'));
  });
});

describe('matchesIfNoneMatch', () => {
  const tag = '"abc"';
  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    [' "x" , W/"abc" ', true],
    ['*', true],
    ['"abc-html"', false],
    ['"ab"', false],
    ['abc', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (header, expected) => {
    expect(matchesIfNoneMatch(header, tag)).toBe(expected);
    // A weak tag of ours compares the same way.
    expect(matchesIfNoneMatch(header, `W/${tag}`)).toBe(expected);
  });
});
