// Public entry of the impact engine: pure functions over arrays of points (no I/O). Times are
// epoch ms; the caller computes each metric's windows once (computeWindows) and passes them in.
export { analyzeEvent } from './analyze.js';
export type {
  AnalyzeInput,
  EngineEvent,
  EventResult,
  MetricInput,
  MetricResult,
  Point,
  SeriesColumns,
} from './types.js';
export { DEFAULT_THRESHOLDS, HEAVY_COVERAGE } from './judge.js';
export { MINIMUMS } from './cut.js';
export {
  computeWindows,
  MAX_REFERENCE_DAYS,
  parseDuration,
  REFERENCE_DAYS,
  referenceShifts,
  WINDOW_DEFAULTS,
} from './windows.js';
export type { EventWindows, TimeWindow, WindowOverrides } from './windows.js';
export { compareWindows } from './compare.js';
export type { Comparison } from './compare.js';
export { summarize } from './summary.js';
export type { WindowSummary } from './summary.js';
export type { WindowData } from './window-data.js';
export { rankSum } from './rank.js';
export { benjaminiHochberg, binomTest, poissonRateTest } from './exact.js';
export type { Onset } from './onset.js';
