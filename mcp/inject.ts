// A fetch that answers from the app itself (Fastify's inject) instead of the
// network: inside the service the MCP tools call the HTTP API in-process, with the
// caller's own key, so authentication, scopes and org isolation are the API's.
import type { FastifyInstance, InjectOptions } from 'fastify';

/** Statuses whose answer has no body (a Response refuses one). */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * A `fetch` over `app.inject`: only the URL's path and query are used. `requestId` is sent as
 * x-request-id, so the API's log lines of one MCP request share its id.
 */
export function injectFetch(app: FastifyInstance, requestId?: string): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    if (requestId) headers['x-request-id'] = requestId;
    const res = await app.inject({
      method: (init?.method ?? 'GET') as InjectOptions['method'],
      url: `${url.pathname}${url.search}`,
      headers,
      ...(typeof init?.body === 'string' ? { payload: init.body } : {}),
    });
    const answer = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) answer.append(name, String(one));
    }
    const body = NO_BODY.has(res.statusCode) ? null : new Uint8Array(res.rawPayload);
    return new Response(body, { status: res.statusCode, headers: answer });
  };
}
