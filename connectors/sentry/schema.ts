// Sentry connection settings, secrets and series queries (zod), validated once at
// the edge; error messages name the field and say what Sentry expects there.
import { z } from 'zod';

/** Crash-free / crash rate and session counts the connector derives from the sessions endpoint. */
export const SESSION_FIELDS = ['crash_free_rate(session)', 'crash_rate(session)', 'sum(session)'] as const;
export type SessionField = (typeof SESSION_FIELDS)[number];

export const configSchema = z
  .strictObject({
    organization: z
      .string({ error: 'organization is required: the organization slug (or numeric id) from your Sentry URL' })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_-]*$/,
        'organization must be an organization slug such as "acme" or its numeric id',
      ),
    region: z
      .enum(['us', 'de'], { error: 'region must be "us" or "de" (data-storage location of a sentry.io organization)' })
      .optional(),
    base_url: z.url({ error: 'base_url must be an absolute URL such as https://sentry.example.com' }).optional(),
  })
  .describe('Sentry connection: organization slug, optional sentry.io region, optional self-hosted base_url');

export const secretsSchema = z.strictObject({
  auth_token: z
    .string({ error: 'auth_token is required: an organization or user auth token with the org:read scope' })
    .min(1, 'auth_token must not be empty'),
});

const PROJECT_MESSAGE =
  'project must be a numeric Sentry project id (Project Settings → General), or -1 for all projects';

/** A project id ("-1" = all projects); Sentry's API filters by id, not slug. */
const projectId = z.union(
  [z.number().int(PROJECT_MESSAGE).min(-1, PROJECT_MESSAGE), z.string().regex(/^-?\d+$/, PROJECT_MESSAGE)],
  { error: PROJECT_MESSAGE },
);

const environmentName = z.string().min(1, 'environment must not be empty');

export const querySchema = z
  .strictObject({
    dataset: z
      .string({ error: 'dataset is required, e.g. "errors", "transactions", "spans" or "sessions"' })
      .regex(
        /^[A-Za-z_]+$/,
        'dataset must be a Sentry dataset name such as "errors", "transactions", "spans" or "sessions"',
      ),
    y_axis: z
      .string()
      .min(1, 'y_axis must not be empty')
      .optional()
      .describe('Aggregate for event datasets, e.g. count() or p95(transaction.duration)'),
    field: z
      .string()
      .optional()
      .describe(`Sessions dataset only: ${SESSION_FIELDS.join(', ')}`),
    query: z.string().optional().describe('Sentry search syntax, e.g. level:error release:{{version}}'),
    project: z.union([projectId, z.array(projectId).min(1, 'project must list at least one id')]).optional(),
    environment: z.union([environmentName, z.array(environmentName)]).optional(),
  })
  .superRefine((q, ctx) => {
    if (q.dataset === 'sessions') {
      if (q.field === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['field'],
          message: `field is required for the sessions dataset: one of ${SESSION_FIELDS.join(', ')}`,
        });
      } else if (!(SESSION_FIELDS as readonly string[]).includes(q.field)) {
        ctx.addIssue({ code: 'custom', path: ['field'], message: `field must be one of ${SESSION_FIELDS.join(', ')}` });
      }
      if (q.y_axis !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['y_axis'],
          message: 'y_axis is not used with the sessions dataset; use field',
        });
      }
    } else {
      if (q.y_axis === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['y_axis'],
          message: 'y_axis is required, e.g. "count()" or "p95(transaction.duration)"',
        });
      }
      if (q.field !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['field'],
          message: 'field is only used with dataset "sessions"; use y_axis',
        });
      }
    }
  });

export type SentryConfig = z.infer<typeof configSchema>;
export type SentrySecrets = z.infer<typeof secretsSchema>;
export type SentryQuery = z.infer<typeof querySchema>;

/** The query's project ids as strings, as Sentry expects them (`project=1&project=2`). */
export function projectIds(q: SentryQuery): string[] {
  if (q.project === undefined) return [];
  return (Array.isArray(q.project) ? q.project : [q.project]).map(String);
}

/** The query's environments as a list (`environment=a&environment=b`). */
export function environments(q: SentryQuery): string[] {
  if (q.environment === undefined) return [];
  return Array.isArray(q.environment) ? q.environment : [q.environment];
}
