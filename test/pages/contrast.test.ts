// WCAG AA contrast of the colours the pages use for text: badge words on their fills, chart
// labels on the shaded windows. Ratios follow the WCAG 2.x relative-luminance formula.
import { describe, expect, it } from 'vitest';
import { COLORS } from '../../api/pages/chart.js';
import { BADGE_CSS } from '../../api/pages/html.js';

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5]
    .map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two #rrggbb colours. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe('colour contrast (WCAG AA, 4.5:1 for text)', () => {
  it('checks the formula against known pairs', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#777777', '#ffffff')).toBeCloseTo(4.48, 2);
  });

  it('every badge word is readable on its fill', () => {
    const rules = [...BADGE_CSS.matchAll(/\.badge-(\w+)\{([^}]*)\}/g)];
    expect(rules.map((r) => r[1]).sort()).toEqual([
      'improvement',
      'inconclusive',
      'insufficient_data',
      'no_change',
      'pending',
      'regression',
    ]);
    for (const [, name, body] of rules) {
      const bg = /background:(#[0-9a-f]{6})/.exec(body)?.[1] ?? '#ffffff';
      const fg = /(?:^|;)color:(#[0-9a-f]{6})/.exec(body)?.[1] ?? '#ffffff';
      expect(contrast(fg, bg), name).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('chart labels are readable on the before, after and gap shading', () => {
    for (const text of [COLORS.text, COLORS.event, COLORS.confounder]) {
      for (const shade of ['#ffffff', COLORS.before, COLORS.after, COLORS.gap])
        expect(contrast(text, shade), `${text} on ${shade}`).toBeGreaterThanOrEqual(4.5);
    }
  });
});
