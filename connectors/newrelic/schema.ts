// Zod schemas of a New Relic connection: which account and region, the user
// API key, and one NRQL query (SELECT and WHERE only; the connector adds time).
import { z } from 'zod';
import { analyzeNrql } from './nrql.js';

/** NerdGraph regions and their endpoints' origins. */
export const REGION_URLS = {
  us: 'https://api.newrelic.com',
  eu: 'https://api.eu.newrelic.com',
  jp: 'https://api.jp.newrelic.com',
} as const;

// GraphQL `Int` is 32-bit signed; NerdGraph takes the account id as Int!.
const MAX_GRAPHQL_INT = 2_147_483_647;
const ACCOUNT_ID_MESSAGE = 'account_id must be your numeric New Relic account id, e.g. 1234567';

/** Non-secret settings: account id (number or digits), region, optional endpoint override. */
export const newRelicConfigSchema = z.strictObject({
  account_id: z.union(
    [
      z
        .number({ message: ACCOUNT_ID_MESSAGE })
        .int(ACCOUNT_ID_MESSAGE)
        .positive(ACCOUNT_ID_MESSAGE)
        .max(MAX_GRAPHQL_INT, ACCOUNT_ID_MESSAGE),
      z
        .string({ message: ACCOUNT_ID_MESSAGE })
        .regex(/^[1-9][0-9]{0,9}$/, ACCOUNT_ID_MESSAGE)
        .refine((s) => Number(s) <= MAX_GRAPHQL_INT, ACCOUNT_ID_MESSAGE),
    ],
    { message: ACCOUNT_ID_MESSAGE },
  ),
  region: z.enum(['us', 'eu', 'jp'], { message: 'region must be one of us, eu, jp' }).default('us'),
  base_url: z.url({ message: 'base_url must be a URL, e.g. https://api.eu.newrelic.com' }).optional(),
});
export type NewRelicConfig = z.infer<typeof newRelicConfigSchema>;

/** Secrets: a New Relic user API key (NRAK-...), sent as the `API-Key` header. */
export const newRelicSecretsSchema = z.strictObject({
  api_key: z
    .string({ message: 'api_key must be a New Relic user API key (NRAK-...)' })
    .trim()
    .min(1, 'api_key must not be empty'),
});
export type NewRelicSecrets = z.infer<typeof newRelicSecretsSchema>;

/** One series: NRQL that selects exactly one value, without TIMESERIES, SINCE, UNTIL or FACET. */
export const newRelicQuerySchema = z.strictObject({
  nrql: z
    .string({
      message:
        "nrql must be an NRQL query, e.g. SELECT percentile(duration, 95) AS 'p95' FROM Transaction WHERE appName = 'checkout'",
    })
    .trim()
    .min(1, 'nrql must not be empty')
    .superRefine((nrql, ctx) => {
      const shape = analyzeNrql(nrql);
      if (!shape.ok) ctx.addIssue({ code: 'custom', message: shape.message });
    }),
});
export type NewRelicQuery = z.infer<typeof newRelicQuerySchema>;
