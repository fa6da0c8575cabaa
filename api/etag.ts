// HTTP validators for the API's cacheable answers: one ETag formula for every
// representation (a report as JSON or as a page, the impact timeline) and the
// If-None-Match check that turns a repeated poll into a 304.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The representations one resource may be answered in; each has its own tag. */
export type Representation = 'json' | 'html';

/**
 * The strong ETag of one version of a resource in one representation: a digest of the
 * version (any JSON value), with the representation in the tag when it is not JSON.
 */
export function etagOf(version: unknown, representation: Representation = 'json'): string {
  const digest = createHash('sha256').update(JSON.stringify(version)).digest('base64url').slice(0, 27);
  return representation === 'json' ? `"${digest}"` : `"${digest}-${representation}"`;
}

/**
 * Whether an If-None-Match header names `etag`: weak comparison (a W/ prefix on either
 * side is ignored, RFC 9110 §13.1.2), and "*" matches any current representation.
 */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  // The usual poll sends back exactly the tag it was given.
  if (header === etag) return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}

/** Send the validators; answer 304 (and return true) when the caller already holds this version. */
export function notModified(req: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag).header('cache-control', 'private, no-cache').header('vary', 'Accept, Authorization');
  if (!matchesIfNoneMatch(req.headers['if-none-match'], etag)) return false;
  reply.code(304).send();
  return true;
}
