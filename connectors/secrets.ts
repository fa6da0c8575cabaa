// Secret scrubbing by value: every spelling of a connection's secrets that a
// provider (or a proxy in front of it) could echo back — raw, JSON-escaped,
// URL- and form-encoded, HTML-escaped, base64 and base64url, alone and as the
// `user:password` of basic auth — replaced by "[redacted]".

export const REDACTED = '[redacted]';

/** Secrets shorter than this are left alone: they would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;
/** A base64 fragment of a secret embedded at an unknown offset counts from this length. */
const MIN_FRAGMENT_LENGTH = 8;
/** A cut-off secret at the end of a text (a provider message truncated mid-secret) counts from this length. */
const MIN_TAIL_LENGTH = 6;

/**
 * Fields of a Google service-account key (an object with `private_key`) that
 * name Google's public endpoints: scrubbing them would redact words such as
 * "service_account" or "googleapis.com" from every message.
 */
const PUBLIC_KEY_FILE_FIELDS = new Set([
  'type',
  'universe_domain',
  'auth_uri',
  'token_uri',
  'auth_provider_x509_cert_url',
  'client_x509_cert_url',
]);

/** The string leaves of a secrets value, and the `a:b` pairs of its top-level fields (basic auth's user:password). */
function secretStrings(secrets: unknown): string[] {
  const leaves: string[] = [];
  const collect = (v: unknown): void => {
    if (typeof v === 'string') leaves.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') {
      const keyFile = 'private_key' in v;
      for (const [k, x] of Object.entries(v)) if (!(keyFile && PUBLIC_KEY_FILE_FIELDS.has(k))) collect(x);
    }
  };
  collect(secrets);
  const top =
    secrets && typeof secrets === 'object' && !Array.isArray(secrets)
      ? Object.values(secrets).filter((v): v is string => typeof v === 'string')
      : [];
  const pairs = top.flatMap((a, i) => top.filter((_, j) => j !== i).map((b) => `${a}:${b}`));
  return [...leaves, ...pairs].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer
 * encoded blob: for each of the three alignments, the characters that depend
 * on the secret's bytes only (RFC 4648 §4 and §5 alphabets).
 */
function base64Fragments(bytes: Buffer, encoding: 'base64' | 'base64url'): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString(encoding);
    const first = Math.ceil((8 * shift) / 6);
    const last = Math.floor((8 * (shift + bytes.length)) / 6); // exclusive
    const core = encoded.slice(first, last);
    if (core.length >= MIN_FRAGMENT_LENGTH) out.push(core);
  }
  return out;
}

const percentLower = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
const jsonEscaped = (s: string) => JSON.stringify(s).slice(1, -1);
const asciiJson = (s: string) =>
  jsonEscaped(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const htmlEscaped = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const formEncoded = (s: string) => new URLSearchParams({ x: s }).toString().slice(2);

/** Every spelling of one secret a provider could echo. */
function spellings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const base64 = bytes.toString('base64');
  const base64url = bytes.toString('base64url');
  const textual = [
    secret,
    jsonEscaped(secret),
    asciiJson(secret),
    htmlEscaped(secret),
    encodeURIComponent(secret),
    percentLower(encodeURIComponent(secret)),
    encodeURI(secret),
    formEncoded(secret),
    percentLower(formEncoded(secret)),
    encodeURIComponent(encodeURIComponent(secret)),
  ];
  const encoded = [
    base64,
    base64.replace(/=+$/, ''),
    base64url,
    ...base64Fragments(bytes, 'base64'),
    ...base64Fragments(bytes, 'base64url'),
  ];
  // An encoded form inside JSON (PHP and others write "/" as "\/") or a query string.
  const nested = encoded.flatMap((e) => [e.replace(/\//g, '\\/'), encodeURIComponent(e)]);
  return [...textual, ...encoded, ...nested];
}

/** All spellings of every secret, longest first (so a longer one is replaced before a part of it). */
export function secretVariants(secrets: unknown): string[] {
  const all = new Set<string>();
  for (const secret of secretStrings(secrets)) {
    for (const v of spellings(secret)) if (v.length >= MIN_SECRET_LENGTH) all.add(v);
  }
  return [...all].sort((a, b) => b.length - a.length);
}

/** Where a text ends with the start of `variant` (a secret cut off by truncation), or -1. */
function cutOffAt(text: string, variant: string): number {
  const head = variant.slice(0, MIN_TAIL_LENGTH);
  for (
    let i = text.indexOf(head, Math.max(0, text.length - variant.length + 1));
    i !== -1;
    i = text.indexOf(head, i + 1)
  ) {
    if (variant.startsWith(text.slice(i))) return i;
  }
  return -1;
}

/** Replaces secret values in a text. */
export type Scrub = (text: string) => string;

/**
 * The one scrubber of a connection's secrets: replaces every spelling of every
 * secret (secretVariants) with "[redacted]", and a secret's beginning left at
 * the end of a truncated text ("…" or "..." may follow).
 */
export function secretScrubber(secrets: unknown): Scrub {
  const variants = secretVariants(secrets);
  if (variants.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const v of variants) if (out.includes(v)) out = out.split(v).join(REDACTED);
    const ellipsis = /(…|\.\.\.)$/.exec(out)?.[0] ?? '';
    const body = out.slice(0, out.length - ellipsis.length);
    for (const v of variants) {
      if (v.length <= MIN_TAIL_LENGTH) continue;
      const at = cutOffAt(body, v);
      if (at !== -1) return `${body.slice(0, at)}${REDACTED}${ellipsis}`;
    }
    return out;
  };
}

/** A copy of a JSON-like value with every string (keys too) scrubbed; Errors become {name, message}. */
export function scrubDeep<T>(value: T, scrub: Scrub): T {
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return scrub(v);
    if (v === null || typeof v !== 'object' || depth > 20) return v;
    if (v instanceof Error) return { name: v.name, message: scrub(v.message) };
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function')
      return walk((v as { toJSON(): unknown }).toJSON(), depth + 1);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrub(k), walk(x, depth + 1)]));
  };
  return walk(value, 0) as T;
}
