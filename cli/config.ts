// Process configuration from environment variables, validated once at start-up.
// A bad value stops start-up with one line naming the variable and what is allowed.
import { z } from 'zod';
import { DEFAULT_RATE_LIMITS, parseRate } from '../api/rate-limit.js';
import { INGEST_RATES, type Plan, type Rate } from '../domain/plan.js';
import { DEFAULT_PLAN_LIMITS, parsePlans, PLANS } from '../domain/plan.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A comma-separated list of host names, lower-cased. */
const hostList = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );

/** "off", or a rate "count/unit[:burst]" such as 20/min or 50/s:100 (api/rate-limit.ts). */
const rateLimit = (fallback: Rate | undefined) =>
  z
    .string()
    .optional()
    .transform((s, ctx): Rate | undefined => {
      if (s === undefined) return fallback;
      if (s.trim().toLowerCase() === 'off') return undefined;
      const rate = parseRate(s);
      if (typeof rate === 'string') ctx.addIssue({ code: 'custom', message: rate });
      return typeof rate === 'string' ? undefined : rate;
    });

/** Ingest rates by plan: "off", or plan=rate overrides of INGEST_RATES (free=100/s:1000,pro=5000/s:50000). */
const ingestRates = z
  .string()
  .optional()
  .transform((s, ctx): Readonly<Record<Plan, Rate>> | undefined => {
    if (s === undefined) return INGEST_RATES;
    if (s.trim().toLowerCase() === 'off') return undefined;
    const rates = { ...INGEST_RATES };
    for (const part of s.split(',').filter((p) => p.trim())) {
      const [plan, text = ''] = part.split('=').map((p) => p.trim());
      const rate = parseRate(text);
      if (!(PLANS as readonly string[]).includes(plan) || typeof rate === 'string') {
        ctx.addIssue({
          code: 'custom',
          message: `expected "off" or plan=rate pairs such as free=100/s:1000,pro=5000/s (plans ${PLANS.join(', ')}; rate count/unit[:burst])`,
        });
        return undefined;
      }
      rates[plan as Plan] = rate;
    }
    return rates;
  });

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a database name: letters, digits and underscores')
    .default('opstrails'),
  /** With CLICKHOUSE_URL: the cluster (remote_servers) to lay the schema out on (docs/clickhouse-cluster.md). */
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a cluster name: letters, digits and underscores')
    .optional(),
  OPSTRAILS_ROOT_KEY: z.string().min(24, 'at least 24 characters').optional(),
  OPSTRAILS_SECRET_KEY: z.string().min(24, 'at least 24 characters').optional(),
  /** Keys connection secrets were sealed under before (comma-separated): still read, re-encrypted under the current key. */
  OPSTRAILS_SECRET_KEY_PREVIOUS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .refine((keys) => keys.every((k) => k.length >= 24), 'comma-separated keys of at least 24 characters each'),
  /** A file holding the key (mode 0600 or stricter), used when OPSTRAILS_SECRET_KEY is not set. */
  OPSTRAILS_SECRET_KEY_FILE: z.string().min(1).optional(),
  OPSTRAILS_ALLOWED_PROVIDER_HOSTS: hostList,
  /** Names the service answers to on /mcp besides localhost and HOST (DNS-rebinding protection). */
  OPSTRAILS_MCP_ALLOWED_HOSTS: hostList,
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Plan limits over the defaults (domain/plan.ts): `free:retention=7,events=10000;pro:events=1000000`. */
  OPSTRAILS_PLANS: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined) return DEFAULT_PLAN_LIMITS;
      const parsed = parsePlans(text);
      if (parsed.ok) return parsed.plans;
      ctx.addIssue({ code: 'custom', message: parsed.reason });
      return z.NEVER;
    }),
  /** The plan of the org created on a fresh embedded install (bootstrapDefaultOrg). */
  OPSTRAILS_DEFAULT_PLAN: z.enum(PLANS).default('pro'),
  /** With CLICKHOUSE_URL: how long a replica's scheduler lease holds; a dead holder's work resumes elsewhere within about this. */
  OPSTRAILS_LEASE_SECONDS: z.coerce.number().int().min(3).max(600).default(15),
  /** Failed authentications per client address ("off" or count/unit[:burst]). */
  OPSTRAILS_RATE_LIMIT_AUTH_FAILURES: rateLimit(DEFAULT_RATE_LIMITS.authFailures),
  /** Requests per API key. */
  OPSTRAILS_RATE_LIMIT_REQUESTS: rateLimit(DEFAULT_RATE_LIMITS.key),
  /** Metric previews per provider connection. */
  OPSTRAILS_RATE_LIMIT_PREVIEW: rateLimit(DEFAULT_RATE_LIMITS.preview),
  /** Events per second per org by plan: overrides of INGEST_RATES (domain/plan.ts), or "off". */
  OPSTRAILS_RATE_LIMIT_INGEST: ingestRates,
  /** When set, GET /metrics requires it as a bearer token. */
  OPSTRAILS_METRICS_TOKEN: z.string().min(24, 'at least 24 characters').optional(),
});

/** Rules between variables, reported on the variable that breaks them. */
const configSchema = envSchema.refine((env) => !env.CLICKHOUSE_CLUSTER || env.CLICKHOUSE_URL !== undefined, {
  path: ['CLICKHOUSE_CLUSTER'],
  message: 'needs CLICKHOUSE_URL (a cluster is reached through a ClickHouse server; the embedded engine has none)',
});

/** Validated process configuration. */
export type Config = z.infer<typeof envSchema>;

/** Thrown with one printable line when the environment is invalid. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parse and validate the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, so `PORT= npm start` falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = String(issue.path[0]);
  const shown = /KEY|PASSWORD|TOKEN/.test(name) ? '(hidden)' : JSON.stringify(env[name]);
  throw new ConfigError(`invalid environment variable ${name}=${shown}: ${describe(name, issue.message)}`);
}

function describe(name: string, message: string): string {
  switch (name) {
    case 'PORT':
      return 'expected an integer port from 0 to 65535';
    case 'CLICKHOUSE_URL':
      return 'expected an http(s) URL such as http://localhost:8123';
    case 'LOG_LEVEL':
      return `expected one of ${LOG_LEVELS.join(', ')}`;
    case 'OPSTRAILS_DEFAULT_PLAN':
      return `expected one of ${PLANS.join(', ')}`;
    case 'OPSTRAILS_PLANS':
      return `${message}; expected e.g. free:retention=7,events=10000;starter:retention=30`;
    default:
      return message;
  }
}
