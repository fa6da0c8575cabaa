// GA4 connection config, secrets and query schemas (zod). Messages name the
// field and never echo a secret value.
import { z } from 'zod';

/** Non-secret connection settings. */
export const configSchema = z.object({
  property_id: z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .pipe(
      z
        .string()
        .regex(
          /^[0-9]{1,20}$/,
          'property_id must be the numeric GA4 property id (Admin → Property settings), e.g. "123456789" — not a "G-..." measurement id',
        ),
    ),
  /** Origin of the Data API (tests, proxies); the client builds the path itself. */
  base_url: z.string().optional(),
});
export type Ga4Config = z.infer<typeof configSchema>;

/** A Google service-account JSON key, as downloaded from the Cloud console. */
const serviceAccountKey = z.looseObject({
  type: z.literal('service_account', { error: 'service_account.type must be "service_account"' }).optional(),
  client_email: z.string({ error: 'service_account.client_email is required' }).min(3),
  private_key: z
    .string({ error: 'service_account.private_key is required' })
    .refine((k) => k.includes('PRIVATE KEY-----'), 'service_account.private_key must be a PEM private key'),
  private_key_id: z.string().optional(),
  token_uri: z.string().optional(),
});
export type ServiceAccountKey = z.infer<typeof serviceAccountKey>;

/** Accept the key as an object or as the pasted file contents; never echo the text in an error. */
const serviceAccountField = z.preprocess((v, ctx) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'service_account must be the JSON key (object or JSON text)' });
    return z.NEVER;
  }
}, serviceAccountKey);

/** Secrets: exactly one of a service-account key or an OAuth access token. */
export const secretsSchema = z
  .object({
    service_account: serviceAccountField.optional(),
    /** A short-lived OAuth 2.0 access token with scope analytics.readonly (no refresh). */
    access_token: z.string().min(1, 'access_token must not be empty').optional(),
  })
  .superRefine((s, ctx) => {
    const given = Number(s.service_account !== undefined) + Number(s.access_token !== undefined);
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['service_account'],
        message: 'give exactly one of service_account (JSON key) or access_token',
      });
    }
  });
export type Ga4Secrets = z.infer<typeof secretsSchema>;

const MATCH_TYPES = ['EXACT', 'BEGINS_WITH', 'ENDS_WITH', 'CONTAINS', 'FULL_REGEXP', 'PARTIAL_REGEXP'] as const;

/** One GA4 `Filter` on a dimension (string, in-list or empty filter). */
const dimensionFilter = z
  .strictObject({
    fieldName: z.string().min(1, 'fieldName is required'),
    stringFilter: z
      .strictObject({
        matchType: z.enum(MATCH_TYPES).optional(),
        value: z.string(),
        caseSensitive: z.boolean().optional(),
      })
      .optional(),
    inListFilter: z
      .strictObject({ values: z.array(z.string()).min(1), caseSensitive: z.boolean().optional() })
      .optional(),
    emptyFilter: z.strictObject({}).optional(),
  })
  .refine(
    (f) => [f.stringFilter, f.inListFilter, f.emptyFilter].filter((x) => x !== undefined).length === 1,
    'a filter needs exactly one of stringFilter, inListFilter or emptyFilter',
  );

/** GA4 `FilterExpression` (the documented JSON shape, so examples can be pasted). */
export interface FilterExpression {
  andGroup?: { expressions: FilterExpression[] };
  orGroup?: { expressions: FilterExpression[] };
  notExpression?: FilterExpression;
  filter?: z.infer<typeof dimensionFilter>;
}

const filterExpression: z.ZodType<FilterExpression> = z.lazy(() =>
  z
    .strictObject({
      andGroup: z.strictObject({ expressions: z.array(filterExpression).min(1) }).optional(),
      orGroup: z.strictObject({ expressions: z.array(filterExpression).min(1) }).optional(),
      notExpression: filterExpression.optional(),
      filter: dimensionFilter.optional(),
    })
    .refine(
      (e) => [e.andGroup, e.orGroup, e.notExpression, e.filter].filter((x) => x !== undefined).length === 1,
      'a filter expression needs exactly one of andGroup, orGroup, notExpression or filter',
    ),
);

/** One series: a GA4 metric, optionally restricted by a dimension filter. */
export const querySchema = z.strictObject({
  metric: z
    .string({ error: 'metric is required, e.g. "activeUsers"' })
    .regex(
      /^[A-Za-z][A-Za-z0-9_:]*$/,
      'metric must be a GA4 metric API name, e.g. "activeUsers" or "customEvent:amount"',
    ),
  dimension_filter: filterExpression.optional(),
});
export type Ga4Query = z.infer<typeof querySchema>;
