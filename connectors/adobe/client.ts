// HTTP client for Adobe IMS and the Analytics 2.0 API: a cached server-to-server
// token (refreshed before expiry and once on 401), company discovery, the report
// suite's time zone, and report pages. Secrets never reach messages or logs.
import { z } from 'zod';
import { requestJson, type JsonRequest } from '../http.js';
import { secretScrubber } from '../secrets.js';
import { isKnownTimeZone } from '../../domain/time-zone.js';
import { ConnectorError, type ConnectorDeps } from '../types.js';
import { reportResponseSchema, type ReportResponse } from './mapping.js';
import type { AdobeConfig, AdobeSecrets } from './schema.js';

/** Scopes Adobe Developer Console lists for an Analytics OAuth Server-to-Server credential. */
export const IMS_SCOPES = 'openid,AdobeID,additional_info.projectedProductContext';

/** Adobe documents 12 requests per 6 s and no Retry-After; a full window refills the budget. */
const RATE_WINDOW_SECONDS = 6;

/** Refresh a token this long before IMS says it expires (capped at half its lifetime). */
const TOKEN_MARGIN_MS = 5 * 60_000;

const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.coerce.number().positive(),
});

const discoverySchema = z.object({
  imsOrgs: z.array(
    z.object({
      imsOrgId: z.string().optional(),
      companies: z
        .array(z.object({ globalCompanyId: z.string().min(1), companyName: z.string().optional() }))
        .default([]),
    }),
  ),
});

const suiteSchema = z.object({
  rsid: z.string().optional(),
  name: z.string().optional(),
  timezoneZoneinfo: z.string().min(1),
});

/** The report suite facts the connector needs. */
export interface ReportSuite {
  rsid: string;
  name?: string;
  timeZone: string;
}

export interface AdobeClientOptions {
  analyticsUrl: URL;
  imsUrl: URL;
  config: AdobeConfig;
  secrets: AdobeSecrets;
  deps: ConnectorDeps;
  timeoutMs: number;
}

/** Provider error bodies → a short message: gateway {error_code, message}, service {errorCode, errorDescription}, IMS {error, error_description}. */
function describeAdobeError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  if (text(b.errorDescription) || text(b.errorCode))
    return `${text(b.errorDescription) ?? 'error'} (${text(b.errorCode) ?? '?'})`;
  if (text(b.error_code) || (text(b.message) && !text(b.error)))
    return `${text(b.message) ?? 'error'}${text(b.error_code) ? ` (${text(b.error_code)})` : ''}`;
  if (text(b.error)) return `${text(b.error)}${text(b.error_description) ? `: ${text(b.error_description)}` : ''}`;
  return undefined;
}

/** Append an absolute path to a base path ("/" or "/prefix"). */
function joinPath(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export class AdobeClient {
  private token?: { value: string; refreshAt: number };
  private tokenInFlight?: Promise<string>;
  private companyInFlight?: Promise<string>;
  private suiteInFlight?: Promise<ReportSuite>;
  /** Set once the suite has been read; lets dry runs show local times. */
  knownSuite?: ReportSuite;
  /** Set once known (configured or discovered). */
  knownCompanyId?: string;

  constructor(private readonly opts: AdobeClientOptions) {
    this.knownCompanyId = opts.config.global_company_id;
    this.scrub = secretScrubber(opts.secrets);
  }

  /** Replace every spelling of the secrets in a provider-supplied text (Adobe echoes clientId in some errors). */
  readonly scrub: (text: string) => string;

  /** Headers of an Analytics call, with the bearer token. */
  apiHeaders(token: string, companyId: string | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'x-api-key': this.opts.secrets.client_id,
    };
    if (companyId) headers['x-proxy-global-company-id'] = companyId;
    return headers;
  }

  /** URL of an Analytics API path (appended to the base URL's path). */
  apiUrl(path: string): string {
    const url = new URL(this.opts.analyticsUrl.toString());
    const [pathname, search] = path.split('?');
    url.pathname = joinPath(url.pathname, pathname);
    url.search = search ? `?${search}` : '';
    return url.toString();
  }

  private async send<T>(req: JsonRequest, signal: AbortSignal | undefined, what: string) {
    try {
      return await requestJson<T>(this.opts.deps, req, {
        provider: 'Adobe Analytics',
        timeoutMs: this.opts.timeoutMs,
        signal,
        describeError: (body) => {
          const d = describeAdobeError(body);
          return d && `${what}: ${this.scrub(d)}`;
        },
      });
    } catch (err) {
      if (err instanceof ConnectorError && err.code === 'rate_limited') {
        const retryAfterSeconds = err.retryAfterSeconds ?? RATE_WINDOW_SECONDS;
        this.opts.deps.onRateLimit?.({ retryAfterSeconds });
        throw new ConnectorError('rate_limited', err.message, { status: err.status, retryAfterSeconds, cause: err });
      }
      throw err;
    }
  }

  /** A valid access token, from cache or IMS. */
  accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && this.opts.deps.now() < this.token.refreshAt) return Promise.resolve(this.token.value);
    this.tokenInFlight ??= this.fetchToken(signal).finally(() => {
      this.tokenInFlight = undefined;
    });
    return this.tokenInFlight;
  }

  private async fetchToken(signal?: AbortSignal): Promise<string> {
    const url = new URL(this.opts.imsUrl.toString());
    url.pathname = joinPath(url.pathname, '/ims/token/v3');
    let res;
    try {
      res = await this.send<unknown>(
        {
          method: 'POST',
          url: url.toString(),
          headers: {},
          form: {
            grant_type: 'client_credentials',
            client_id: this.opts.secrets.client_id,
            client_secret: this.opts.secrets.client_secret,
            scope: IMS_SCOPES,
          },
        },
        signal,
        'IMS token',
      );
    } catch (err) {
      // IMS answers a wrong client id/secret or scope with a 4xx OAuth error (invalid_client, invalid_scope).
      if (err instanceof ConnectorError && err.status === 400) {
        throw new ConnectorError('auth_failed', err.message, { status: err.status, cause: err });
      }
      throw err;
    }
    const parsed = tokenSchema.safeParse(res.body);
    if (!parsed.success)
      throw new ConnectorError('bad_response', 'Adobe IMS token answer has no access_token/expires_in');
    const lifetimeMs = parsed.data.expires_in * 1000;
    const refreshAt = this.opts.deps.now() + lifetimeMs - Math.min(TOKEN_MARGIN_MS, lifetimeMs / 2);
    this.token = { value: parsed.data.access_token, refreshAt };
    this.opts.deps.logger.debug(
      { provider: 'adobe', expiresInSeconds: parsed.data.expires_in },
      'adobe: new IMS access token',
    );
    return parsed.data.access_token;
  }

  /** An authorized Analytics call; on 401 the token is fetched again and the call retried once. */
  async authorized<T>(build: (token: string) => JsonRequest, signal: AbortSignal | undefined, what: string) {
    const first = await this.accessToken(signal);
    try {
      return await this.send<T>(build(first), signal, what);
    } catch (err) {
      if (!(err instanceof ConnectorError && err.status === 401)) throw err;
      this.opts.deps.logger.info({ provider: 'adobe' }, 'adobe: access token refused (401); fetching a new one');
      if (this.token?.value === first) this.token = undefined;
      const second = await this.accessToken(signal);
      return this.send<T>(build(second), signal, what);
    }
  }

  /** The configured company id, or the only one the credential can see (GET /discovery/me). */
  companyId(signal?: AbortSignal): Promise<string> {
    if (this.knownCompanyId) return Promise.resolve(this.knownCompanyId);
    this.companyInFlight ??= this.discoverCompany(signal).finally(() => {
      this.companyInFlight = undefined;
    });
    return this.companyInFlight;
  }

  private async discoverCompany(signal?: AbortSignal): Promise<string> {
    const res = await this.authorized<unknown>(
      (token) => ({ method: 'GET', url: this.apiUrl('/discovery/me'), headers: this.apiHeaders(token, undefined) }),
      signal,
      'discovery',
    );
    const parsed = discoverySchema.safeParse(res.body);
    if (!parsed.success) throw new ConnectorError('bad_response', 'Adobe discovery/me answer has no imsOrgs');
    const ids = [...new Set(parsed.data.imsOrgs.flatMap((o) => o.companies.map((c) => c.globalCompanyId)))];
    if (ids.length === 0) {
      throw new ConnectorError(
        'auth_failed',
        'the credential has access to no Analytics company; add it to an Analytics product profile',
      );
    }
    if (ids.length > 1) {
      throw new ConnectorError(
        'invalid_config',
        `the credential sees several Analytics companies (${ids.join(', ')}); set global_company_id`,
      );
    }
    this.knownCompanyId = ids[0];
    return ids[0];
  }

  /** The report suite with its time zone (cached for the connector's life). */
  reportSuite(signal?: AbortSignal): Promise<ReportSuite> {
    if (this.knownSuite) return Promise.resolve(this.knownSuite);
    this.suiteInFlight ??= this.fetchSuite(signal).finally(() => {
      this.suiteInFlight = undefined;
    });
    return this.suiteInFlight;
  }

  private async fetchSuite(signal?: AbortSignal): Promise<ReportSuite> {
    const company = await this.companyId(signal);
    const rsid = this.opts.config.rsid;
    const path = `/api/${encodeURIComponent(company)}/reportsuites/collections/suites/${encodeURIComponent(rsid)}?expansion=timezoneZoneinfo`;
    const res = await this.authorized<unknown>(
      (token) => ({ method: 'GET', url: this.apiUrl(path), headers: this.apiHeaders(token, company) }),
      signal,
      'report suite',
    );
    const parsed = suiteSchema.safeParse(res.body);
    if (!parsed.success) throw new ConnectorError('bad_response', 'Adobe report suite answer has no timezoneZoneinfo');
    const timeZone = parsed.data.timezoneZoneinfo;
    if (!isKnownTimeZone(timeZone)) {
      throw new ConnectorError('bad_response', `report suite time zone "${timeZone}" is not a zone this runtime knows`);
    }
    this.knownSuite = { rsid: parsed.data.rsid ?? rsid, name: parsed.data.name, timeZone };
    return this.knownSuite;
  }

  /** The URL of POST /reports for a company. */
  reportsUrl(companyId: string): string {
    return this.apiUrl(`/api/${encodeURIComponent(companyId)}/reports`);
  }

  /** One report page. A 206 (some columns failed) is a bad query: the metric column is unusable. */
  async report(companyId: string, body: Record<string, unknown>, signal?: AbortSignal): Promise<ReportResponse> {
    const res = await this.authorized<unknown>(
      (token) => ({
        method: 'POST',
        url: this.reportsUrl(companyId),
        headers: this.apiHeaders(token, companyId),
        body,
      }),
      signal,
      'report',
    );
    if (res.status === 206) {
      const errors = (res.body as { columns?: { columnErrors?: unknown[] } } | undefined)?.columns?.columnErrors ?? [];
      const detail =
        errors
          .map((e) => describeAdobeError(e))
          .filter(Boolean)
          .join('; ') || 'partial response';
      throw new ConnectorError('bad_query', `Adobe Analytics: report column failed: ${this.scrub(detail)}`, {
        status: 206,
      });
    }
    const parsed = reportResponseSchema.safeParse(res.body);
    if (!parsed.success)
      throw new ConnectorError('bad_response', 'Adobe Analytics report answer has no rows/totalPages');
    return parsed.data;
  }
}
