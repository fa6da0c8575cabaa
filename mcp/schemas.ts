// The MCP tools' input and output schemas (zod 4, as the MCP SDK accepts them).
// Inputs are strict, so a misspelt argument is named instead of ignored; outputs
// are loose objects, so a field the API adds later does not fail a client's check.
import { z } from 'zod';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 instant, as the API's query parameters take it. */
export const instant = z
  .string()
  .regex(RFC3339, 'expected an RFC 3339 instant such as 2026-11-26T10:00:00Z')
  // Only a well-formed instant can be an impossible date (2026-13-01): one message per mistake.
  .refine((s) => !RFC3339.test(s) || Number.isFinite(Date.parse(s)), 'not a valid date')
  .describe('an RFC 3339 instant, e.g. 2026-11-26T10:00:00Z');

/** The cursor of a listing's next page. */
export const cursor = z.string().min(1).describe('next_cursor of the previous page, for the next one');

/** A page size, with the most a tool answers (fewer than the API allows: answers go into a model's context). */
export const limit = (fallback: number, max: number) =>
  z.number().int().min(1).max(max).default(fallback).describe(`how many to return, 1 to ${max} (default ${fallback})`);

/** A non-empty identifier or filter value. */
export const text = (description: string) => z.string().min(1).describe(description);

const nullableString = z.string().nullable();

export const cloudEvent = z
  .looseObject({
    specversion: z.string(),
    id: z.string(),
    source: z.string(),
    type: z.string(),
    subject: z.string().optional(),
    time: z.string().optional(),
  })
  .describe('a CloudEvent as sent (extension attributes such as version included)');

export const impactSummary = z.looseObject({
  id: z.string(),
  source: z.string(),
  type: z.string(),
  subject: nullableString,
  version: nullableString,
  time: z.string().describe('the event’s time, RFC 3339'),
  status: z.string().describe('pending, ready, partial or failed'),
  verdict: nullableString.describe('regression, improvement, no_change or inconclusive; null while pending'),
  worst_metric: z
    .looseObject({
      metric_id: z.string(),
      name: z.string(),
      verdict: z.string(),
      relative: z.number().nullable(),
    })
    .nullable()
    .describe('the metric that decided the verdict'),
});

const metricReport = z.looseObject({
  metric_id: z.string(),
  name: z.string(),
  kind: z.string(),
  critical: z.boolean(),
  status: z.string(),
  verdict: nullableString.describe(
    'regression, improvement, no_change, inconclusive or insufficient_data; null while pending',
  ),
  change: z
    .looseObject({
      relative: z.number().nullable(),
      ci: z.tuple([z.number(), z.number()]).nullable(),
    })
    .nullable(),
  explanation: z.string(),
});

export const impactReport = z
  .looseObject({
    event: cloudEvent,
    status: z.string().describe('pending, ready, partial or failed'),
    verdict: nullableString.describe('regression, improvement, no_change or inconclusive; null while pending'),
    computed_at: nullableString,
    explanation: z.string(),
    windows: z.looseObject({}),
    awaiting: z.array(z.string()).optional().describe('while pending: what is still awaited'),
    metrics: z.array(metricReport),
  })
  .describe('the impact report, as GET /v1/events/{id}/impact answers it');

export const metric = z.looseObject({
  id: z.string(),
  connection_id: z.string(),
  name: z.string(),
  kind: z.string().describe('count, ratio, gauge or quantile'),
  query: z.record(z.string(), z.unknown()),
  direction: z.string().describe('increase_is_bad, decrease_is_bad or either'),
  unit: nullableString,
  step_seconds: z.number(),
  threshold: z.number().describe('relative change past which a verdict is a regression or an improvement'),
  critical: z.boolean(),
  applies_to: z.looseObject({}),
  windows: z.looseObject({}),
});

export const seriesPoint = z.looseObject({
  ts: z.number().describe('bucket start, epoch ms'),
  value: z.number().nullable(),
  weight: z.number().nullable().optional(),
});

export const connection = z
  .looseObject({
    id: z.string(),
    provider: z.string(),
    name: z.string(),
    config: z.record(z.string(), z.unknown()),
    status: z.string().describe('unchecked, ok or failing (the last check)'),
    status_message: nullableString,
    checked_at: nullableString,
    health: z
      .looseObject({
        last_success: nullableString,
        last_error: z.looseObject({ at: z.string(), code: z.string(), message: z.string() }).nullable(),
        rate_limit: z.looseObject({}).nullable(),
        queued_jobs: z.number(),
      })
      .optional(),
  })
  .describe('a connection: its config and health, never its secrets');
