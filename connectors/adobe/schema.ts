// Zod schemas for an Adobe Analytics 2.0 connection (config, secrets) and one series query.
// Validation happens once at the edge; messages name the failing field.
import { z } from 'zod';

// Adobe ids are plain tokens: company ids like "testco0", report suites like "examplersid",
// segments like "s300000022_5a1b..." — nothing that needs escaping in a URL path.
const TOKEN = /^[A-Za-z0-9._-]+$/;

const httpUrl = (field: string) =>
  z.url({ protocol: /^https?$/, error: `${field} must be an http(s) URL such as https://analytics.adobe.io` });

export const adobeConfigSchema = z.object({
  /** Analytics company; looked up with GET /discovery/me when left out. */
  global_company_id: z
    .string({ error: 'global_company_id must be a string' })
    .regex(TOKEN, { error: 'global_company_id must be a company id such as "testco0" (letters, digits, . _ -)' })
    .optional(),
  rsid: z
    .string({ error: 'rsid is required (the report suite id)' })
    .min(1, { error: 'rsid is required (the report suite id)' })
    .regex(TOKEN, { error: 'rsid must be a report suite id (letters, digits, . _ -)' }),
  /** Adobe IMS location; official host ims-na1.adobelogin.com. */
  ims_url: httpUrl('ims_url').optional(),
  /** Analytics API location; official host analytics.adobe.io. */
  base_url: httpUrl('base_url').optional(),
});

export const adobeSecretsSchema = z.object({
  client_id: z
    .string({ error: 'client_id is required (OAuth Server-to-Server credential)' })
    .min(1, { error: 'client_id is required (OAuth Server-to-Server credential)' }),
  client_secret: z
    .string({ error: 'client_secret is required (OAuth Server-to-Server credential)' })
    .min(1, { error: 'client_secret is required (OAuth Server-to-Server credential)' }),
});

export const adobeQuerySchema = z.object({
  /** A metric id ("metrics/pageviews", "metrics/event12") or a calculated metric id ("cm300000_5b2c..."). */
  metric: z
    .string({ error: 'metric is required, e.g. "metrics/pageviews"' })
    .regex(/^(metrics\/[A-Za-z0-9._:-]+|cm[A-Za-z0-9._-]+)$/, {
      error:
        'metric must be a metric id such as "metrics/pageviews" or a calculated metric id such as "cm300000_5b2c..."',
    }),
  /** Segment id applied as a global filter. */
  segment: z
    .string({ error: 'segment must be a segment id' })
    .regex(TOKEN, { error: 'segment must be a segment id such as "s300000022_5a1b..." (letters, digits, . _ -)' })
    .optional(),
});

export type AdobeConfig = z.infer<typeof adobeConfigSchema>;
export type AdobeSecrets = z.infer<typeof adobeSecretsSchema>;
export type AdobeQuery = z.infer<typeof adobeQuerySchema>;
