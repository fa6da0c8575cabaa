// Zod schemas of a Prometheus connection: where the server is, how to
// authenticate (bearer token or basic auth, both optional) and the PromQL query.
import { z } from 'zod';

/** Non-secret settings: the server's base URL (Prometheus has no official host). */
export const prometheusConfigSchema = z.strictObject({
  base_url: z.url({
    message: 'base_url must be the URL of your Prometheus server, e.g. https://prometheus.example.com',
  }),
});
export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;

/** Secrets: a bearer token, or a username and password, or nothing for an open server. */
export const prometheusSecretsSchema = z
  .strictObject({
    bearer_token: z.string().min(1, 'bearer_token must not be empty').optional(),
    username: z.string().min(1, 'username must not be empty').optional(),
    password: z.string().min(1, 'password must not be empty').optional(),
  })
  .superRefine((s, ctx) => {
    if (s.bearer_token && (s.username || s.password)) {
      ctx.addIssue({
        code: 'custom',
        path: ['bearer_token'],
        message: 'give either bearer_token or username + password, not both',
      });
    }
    if (Boolean(s.username) !== Boolean(s.password)) {
      ctx.addIssue({
        code: 'custom',
        path: [s.username ? 'password' : 'username'],
        message: 'basic auth needs both username and password',
      });
    }
  });
export type PrometheusSecrets = z.infer<typeof prometheusSecretsSchema>;

/** One series query: a PromQL expression that returns exactly one series (wrap it in sum() if needed). */
export const prometheusQuerySchema = z.strictObject({
  promql: z.string().trim().min(1, 'promql must be a PromQL expression, e.g. sum(rate(http_requests_total[1m]))'),
});
export type PrometheusQuery = z.infer<typeof prometheusQuerySchema>;
