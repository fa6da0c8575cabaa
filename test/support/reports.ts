// A ready report row as tests store them: an event's identity and time, everything else empty
// unless given (placebo estimates, a report body, a status).
import type { StoredReport } from '../../store/reports.js';

export function readyReport(
  org: string,
  source: string,
  id: string,
  time: number,
  extra: Partial<StoredReport> = {},
): Omit<StoredReport, 'computed_at'> & { computed_at?: number } {
  return {
    org_id: org,
    event_source: source,
    event_id: id,
    event_time: time,
    status: 'ready',
    verdict: 'no_change',
    worst_metric: null,
    report: {},
    charts: {},
    retry_after_s: 0,
    ...extra,
  };
}
