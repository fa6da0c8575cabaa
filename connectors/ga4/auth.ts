// OAuth access tokens for the Data API: either the token the user gave, or a
// service-account JWT bearer grant (RS256, node:crypto) sent through deps.fetch.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { requestJson, resolveBaseUrl } from '../http.js';
import { ConnectorError, type ConnectorDeps } from '../types.js';
import type { Ga4Secrets, ServiceAccountKey } from './schema.js';

/** The only scope the connector asks for. */
export const SCOPE = 'https://www.googleapis.com/auth/analytics.readonly';
export const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
/** Google's token endpoints; another `token_uri` host must be allowed by the operator. */
export const TOKEN_HOSTS = ['oauth2.googleapis.com', 'accounts.google.com', 'www.googleapis.com'] as const;
/** Renew this long before expiry so a token never dies mid-request. */
const EXPIRY_MARGIN_MS = 60_000;
const JWT_LIFETIME_S = 3600;

/** Hands out a valid bearer token. */
export interface TokenSource {
  token(signal?: AbortSignal): Promise<string>;
}

/**
 * Build the token source for a connection's secrets. Validates the service-account
 * key and its `token_uri` host up front (invalid_config), never echoing the key.
 */
export function tokenSource(secrets: Ga4Secrets, deps: ConnectorDeps, timeoutMs: () => number): TokenSource {
  if (secrets.access_token !== undefined) {
    const token = secrets.access_token;
    return { token: async () => token };
  }
  const key = secrets.service_account as ServiceAccountKey;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key.private_key);
  } catch (err) {
    throw new ConnectorError('invalid_config', 'service_account.private_key is not a readable PEM private key', {
      cause: err,
    });
  }
  const tokenUrl = resolveBaseUrl(
    key.token_uri,
    DEFAULT_TOKEN_URI,
    TOKEN_HOSTS,
    deps.hostPolicy,
    'service_account.token_uri',
  );
  return new ServiceAccountTokens(key, privateKey, tokenUrl.toString(), deps, timeoutMs);
}

class ServiceAccountTokens implements TokenSource {
  private cached?: { token: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly key: ServiceAccountKey,
    private readonly privateKey: KeyObject,
    private readonly tokenUrl: string,
    private readonly deps: ConnectorDeps,
    private readonly timeoutMs: () => number,
  ) {}

  async token(signal?: AbortSignal): Promise<string> {
    if (this.cached && this.cached.expiresAt - EXPIRY_MARGIN_MS > this.deps.now()) return this.cached.token;
    // Concurrent callers share one exchange instead of each minting a token.
    this.pending ??= this.exchange(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** JWT bearer grant (RFC 7523) as Google documents it for service accounts. */
  private async exchange(signal?: AbortSignal): Promise<string> {
    const iat = Math.floor(this.deps.now() / 1000);
    const assertion = signJwt(
      { iss: this.key.client_email, scope: SCOPE, aud: this.tokenUrl, iat, exp: iat + JWT_LIFETIME_S },
      this.privateKey,
      this.key.private_key_id,
    );
    let res;
    try {
      res = await requestJson<{ access_token?: unknown; expires_in?: unknown }>(
        this.deps,
        {
          method: 'POST',
          url: this.tokenUrl,
          headers: {},
          form: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion },
        },
        {
          provider: 'Google OAuth token endpoint',
          timeoutMs: this.timeoutMs(),
          signal,
          describeError: describeOAuthError,
        },
      );
    } catch (err) {
      // Google answers a bad key or a disabled account with 400 invalid_grant: that is a credential problem.
      if (err instanceof ConnectorError && err.code === 'bad_query') {
        throw new ConnectorError('auth_failed', err.message, { status: err.status, cause: err });
      }
      throw err;
    }
    const { access_token, expires_in } = res.body ?? {};
    if (typeof access_token !== 'string' || access_token.length === 0) {
      throw new ConnectorError('bad_response', 'Google OAuth token endpoint answered without an access_token');
    }
    const lifetimeS = typeof expires_in === 'number' && expires_in > 0 ? expires_in : JWT_LIFETIME_S;
    this.cached = { token: access_token, expiresAt: this.deps.now() + lifetimeS * 1000 };
    return access_token;
  }
}

/** A compact RS256 JWT. */
export function signJwt(claims: Record<string, unknown>, key: KeyObject, keyId?: string): string {
  const encode = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = keyId ? { alg: 'RS256', typ: 'JWT', kid: keyId } : { alg: 'RS256', typ: 'JWT' };
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), key).toString('base64url')}`;
}

/** `{error, error_description}` of RFC 6749 §5.2 (no secrets in it). */
function describeOAuthError(body: unknown): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { error, error_description } = body as { error?: unknown; error_description?: unknown };
  if (typeof error !== 'string') return undefined;
  return typeof error_description === 'string' ? `${error}: ${error_description.slice(0, 200)}` : error;
}
