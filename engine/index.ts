// Public entry of the impact engine: pure functions over arrays of points (no I/O).
export { analyzeEvent, DEFAULT_THRESHOLDS, MINIMUMS, HEAVY_COVERAGE } from './analyze.js';
export type {
  AnalyzeInput,
  SeriesColumns,
  EngineEvent,
  EventResult,
  MetricInput,
  MetricResult,
  Point,
} from './analyze.js';
export { computeWindows, parseDuration, WINDOW_DEFAULTS } from './windows.js';
export type { EventWindows, TimeWindow, WindowOverrides } from './windows.js';
export { compareWindows, summarize } from './compare.js';
export type { Comparison, WindowData, WindowSummary } from './compare.js';
export { rankSum } from './rank.js';
export { benjaminiHochberg, binomTest, poissonRateTest } from './exact.js';
export type { Onset } from './onset.js';
