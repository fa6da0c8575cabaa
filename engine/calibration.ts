// Which variance decides a counterfactual's interval: the noise model's, this event's placebo
// spread where that is wider, or the placebo inflation pooled with the metric's earlier events'.
import type { Calibration, PlaceboHistory } from '../domain/report.js';
import { betaInc } from './distributions.js';

/** Fewest earlier events whose placebos are pooled with this event's. */
const MIN_HISTORY_EVENTS = 5;
/**
 * Most df the history counts for: earlier events share reference days and data with each other,
 * so their df do not simply add up; capped, the pooled inflation still moves a tenth of the way
 * toward a new event's own.
 */
const MAX_HISTORY_DF = 100;
/**
 * This event's placebos disagree with the history when their spread is this improbable under it
 * (upper tail of F): an unusual day or hour keeps its own, wider, calibration.
 */
const HISTORY_DISAGREES_P = 0.05;

/**
 * The placebo inflation pooled with the metric's history, or null when there is too little
 * history or this event's placebos spread wider than the history allows. Weighted by df; the
 * pooled df is the sum (the history's capped).
 */
export function pooledInflation(
  own: { inflation: number; df: number },
  history: PlaceboHistory | undefined,
): PlaceboHistory | null {
  if (!history || history.events < MIN_HISTORY_EVENTS || !(history.df > 0) || !(history.inflation > 0)) return null;
  if (!(own.df > 0) || !Number.isFinite(own.inflation)) return null;
  const hd = Math.min(history.df, MAX_HISTORY_DF);
  // P(F(own df, history df) > own / history): small when this event's placebos spread wider.
  const f = own.inflation / history.inflation;
  const upper = betaInc(hd / (hd + own.df * f), hd / 2, own.df / 2);
  if (upper < HISTORY_DISAGREES_P) return null;
  return {
    inflation: (hd * history.inflation + own.df * own.inflation) / (hd + own.df),
    df: hd + own.df,
    events: history.events,
  };
}

/**
 * The interval's standard error and df from the noise model's (`model`) and the placebos'
 * (`placebo`: their inflation of the model variance and its df). With the metric's history the
 * inflation is pooled across its events, and the model variance is taken times it (never less
 * than the model's) on the df of both estimates; without, this event's placebo variance where it
 * is the wider one, on the placebos' df.
 */
export function calibrate(
  model: { se: number; df: number },
  placebo: { inflation: number; df: number },
  history: PlaceboHistory | undefined,
): { calibration: Calibration; se: number; df: number; pooled: PlaceboHistory | null } {
  const pooled = placebo.df >= 2 ? pooledInflation(placebo, history) : null;
  if (pooled)
    return pooled.inflation > 1
      ? {
          calibration: 'pooled',
          se: model.se * Math.sqrt(pooled.inflation),
          df: 1 / (1 / model.df + 1 / pooled.df),
          pooled,
        }
      : { calibration: 'model', ...model, pooled };
  if (placebo.df >= 2 && placebo.inflation > 1)
    return { calibration: 'placebo', se: model.se * Math.sqrt(placebo.inflation), df: placebo.df, pooled };
  return { calibration: 'model', ...model, pooled };
}
