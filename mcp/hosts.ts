// DNS-rebinding protection for /mcp: a web page on another site cannot make a
// browser talk to the service under a name the service does not answer to.
// Hostnames are compared without their port (as the MCP SDK's own check does).
import type { IncomingHttpHeaders } from 'node:http';

/** Hostnames /mcp always answers to: the loopback names. */
export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'] as const;

/** The lower-cased hostname of a Host header value ("impact.example.com:8080") or an Origin; undefined if unreadable. */
export function hostnameOf(value: string, kind: 'host' | 'origin'): string | undefined {
  try {
    const url = new URL(kind === 'host' ? `http://${value}` : value);
    return url.hostname ? url.hostname.toLowerCase() : undefined;
  } catch {
    // Not a host or an origin (e.g. Origin: null from a sandboxed page): undefined, which is refused.
    return undefined;
  }
}

/** The hostnames /mcp answers to: the loopback names and the service's own (given as hosts or URLs, ports ignored). */
export function allowedHostnames(extra: readonly string[] = []): Set<string> {
  const names = new Set<string>(LOOPBACK_HOSTS);
  for (const entry of extra) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const name = hostnameOf(trimmed, /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? 'origin' : 'host');
    if (name) names.add(name);
  }
  return names;
}

/** Why a request may not reach /mcp (its Host or Origin is not one of ours), or undefined when it may. */
export function hostRefusal(headers: IncomingHttpHeaders, allowed: ReadonlySet<string>): string | undefined {
  const host = headers.host === undefined ? undefined : hostnameOf(headers.host, 'host');
  if (!host || !allowed.has(host)) {
    return `the Host header ${JSON.stringify(headers.host ?? '')} is not a name this service answers to on /mcp (DNS rebinding protection)`;
  }
  const origin = headers.origin;
  if (origin !== undefined) {
    const name = hostnameOf(origin, 'origin');
    if (!name || !allowed.has(name)) {
      return `the Origin ${JSON.stringify(origin)} may not call /mcp (DNS rebinding protection)`;
    }
  }
  return undefined;
}
