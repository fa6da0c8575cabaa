import { describe, expect, it } from 'vitest';
import { arWeight } from '../../engine/hac.js';

describe('arWeight: the weight of γ_1 in n·Var(mean of n buckets)', () => {
  it('equals the direct sum Σ_{k=1}^{n−1} (1 − k/n) φ^(k−1)', () => {
    for (const n of [2, 10, 60, 240]) {
      for (const phi of [0, 0.3, 0.8, 0.9]) {
        let direct = 0;
        for (let k = 1; k < n; k++) direct += (1 - k / n) * phi ** (k - 1);
        expect(arWeight(phi, n)).toBeCloseTo(direct, 12);
      }
    }
  });

  it('gives the textbook variance of an AR(1) mean: (1 + φ)/(1 − φ) − 2φ(1 − φⁿ)/(n(1 − φ)²)', () => {
    // For AR(1), γ_1 = φ γ_0, so n·Var(mean)/γ_0 = 1 + 2φ·W(φ, n).
    for (const [phi, n] of [
      [0.5, 60],
      [0.8, 60],
      [0.9, 30],
    ]) {
      const textbook = (1 + phi) / (1 - phi) - (2 * phi * (1 - phi ** n)) / (n * (1 - phi) ** 2);
      expect(1 + 2 * phi * arWeight(phi, n)).toBeCloseTo(textbook, 12);
    }
  });

  it('tends to 1/(1 − φ) for long windows and is smaller for short ones', () => {
    expect(arWeight(0.8, 100_000)).toBeCloseTo(5, 3);
    expect(arWeight(0.8, 60)).toBeCloseTo(4.5833, 4);
    expect(arWeight(0.8, 1)).toBe(0);
  });
});
