// The impact report types, defined with the code that computes reports
// (scheduler/report-types.ts) and re-exported here for the pages that draw them.
export * from '../../scheduler/report-types.js';
