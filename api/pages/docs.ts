// The API reference page: an OpenAPI 3.1 document rendered as one self-contained HTML page
// (an index, each operation with its parameters, request body and responses, JSON Schemas as
// nested lists, and the shared component schemas). No scripts; everything is escaped.
import { cspHash, esc, headerRow } from './html.js';
import { boundWords } from './docs-markdown.js';

type Json = Record<string, unknown>;

export const DOCS_CSS = `
:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;color:#111827;background:#fff;font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.layout{display:grid;grid-template-columns:260px 1fr;max-width:1200px;margin:0 auto}
nav.index{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;padding:1rem;border-right:1px solid #e5e7eb;font-size:.88rem}
nav.index ul{list-style:none;padding:0;margin:0 0 .8rem}
nav.index li{margin:.15rem 0}
nav.index a{color:#1f2937;text-decoration:none}
nav.index a:hover{text-decoration:underline}
main{padding:1rem 1.5rem 3rem;min-width:0}
h1{font-size:1.6rem;margin:.3rem 0}
h2{font-size:1.25rem;margin:2rem 0 .5rem;border-bottom:1px solid #e5e7eb;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.6rem 0 .3rem;overflow-wrap:anywhere}
h4{font-size:.95rem;margin:1rem 0 .3rem;color:#374151}
.method{display:inline-block;min-width:4.2em;text-align:center;font-size:.8rem;font-weight:700;padding:.05em .4em;
border-radius:4px;color:#fff;background:#374151;margin-right:.4rem}
.method.get{background:#1d4ed8}.method.post{background:#1a6b35}.method.delete{background:#b42318}.method.patch,.method.put{background:#8a4b00}
code,.path{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin:.3rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}
thead th{border-bottom:2px solid #9ca3af}
ul.schema{list-style:none;margin:.2rem 0;padding-left:1.1rem;border-left:2px solid #e5e7eb}
ul.schema li{margin:.15rem 0}
.type{color:#6d28d9;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.req{color:#b42318;font-size:.8em;font-weight:600}
.muted{color:#4b5563}
.op{border-top:1px solid #f3f4f6}
a{color:#1d4ed8}
@media (max-width:800px){.layout{display:block}nav.index{position:static;max-height:none;border-right:none;border-bottom:1px solid #e5e7eb}}
@media print{nav.index{display:none}.layout{display:block}.method{background:none!important;color:#000;border:1px solid #000}}
`;

/** CSP source allowing the docs page's style block. */
export const DOCS_STYLE_HASH = cspHash(DOCS_CSS);

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const MAX_DEPTH = 8;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An anchor id from any text (stable, unique enough for paths and schema names). */
function anchor(prefix: string, text: string): string {
  return `${prefix}-${text.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-+|-+$/g, '') || 'root'}`;
}

function refName(ref: string): string | null {
  const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
  return m ? m[1].replaceAll('~1', '/').replaceAll('~0', '~') : null;
}

/** One line about a schema: its type (with format, enum, const, bounds) and description. */
function typeLine(s: Json): string {
  const parts: string[] = [];
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return name
      ? `<a href="#${anchor('schema', name)}" class="type">${esc(name)}</a>`
      : `<span class="type">${esc(s.$ref)}</span>`;
  }
  let type = Array.isArray(s.type) ? s.type.join(' | ') : typeof s.type === 'string' ? s.type : '';
  if (type === 'array' && isObj(s.items))
    type = `array of ${isObj(s.items) && typeof s.items.$ref === 'string' ? (refName(s.items.$ref) ?? 'items') : ((s.items.type as string) ?? 'items')}`;
  if (typeof s.format === 'string') type += ` (${s.format})`;
  if (type) parts.push(`<span class="type">${esc(type)}</span>`);
  if (Array.isArray(s.enum))
    parts.push(`one of ${s.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(', ')}`);
  if ('const' in s) parts.push(`always <code>${esc(JSON.stringify(s.const))}</code>`);
  parts.push(...boundWords(s));
  if (typeof s.pattern === 'string') parts.push(`pattern <code>${esc(s.pattern)}</code>`);
  if ('default' in s) parts.push(`default <code>${esc(JSON.stringify(s.default))}</code>`);
  if (s.readOnly === true) parts.push('read-only');
  if (s.writeOnly === true) parts.push('write-only (never returned)');
  if (s.deprecated === true) parts.push('deprecated');
  // A schema made only of oneOf/anyOf/allOf branches says its type in the branches.
  if (!type && !s.oneOf && !s.anyOf && !s.allOf && !('const' in s) && !Array.isArray(s.enum))
    parts.unshift('<span class="type">any</span>');
  let line = parts.join(', ');
  if (typeof s.description === 'string') line += ` <span class="muted">— ${esc(s.description)}</span>`;
  return line;
}

/** A JSON Schema as a nested list: properties with required marks, items, and the oneOf/anyOf/allOf branches. */
export function renderSchema(schema: unknown, depth = 0): string {
  if (!isObj(schema)) return schema === true ? '<span class="type">any</span>' : '<span class="muted">none</span>';
  if (depth > MAX_DEPTH) return '<span class="muted">…</span>';
  const out: string[] = [typeLine(schema)];
  if (typeof schema.$ref === 'string') return out[0];
  const children: string[] = [];
  if (isObj(schema.properties)) {
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    for (const [name, sub] of Object.entries(schema.properties)) {
      children.push(
        `<li><code>${esc(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}: ${renderSchema(sub, depth + 1)}</li>`,
      );
    }
  }
  if (isObj(schema.additionalProperties))
    children.push(`<li><em>any other key</em>: ${renderSchema(schema.additionalProperties, depth + 1)}</li>`);
  if (
    isObj(schema.items) &&
    typeof schema.items.$ref !== 'string' &&
    (isObj(schema.items.properties) || schema.items.oneOf || schema.items.anyOf || schema.items.allOf)
  ) {
    children.push(`<li><em>each item</em>: ${renderSchema(schema.items, depth + 1)}</li>`);
  }
  for (const [k, word] of [
    ['oneOf', 'exactly one of'],
    ['anyOf', 'any of'],
    ['allOf', 'all of'],
  ] as const) {
    const branches = schema[k];
    if (Array.isArray(branches))
      children.push(
        `<li><em>${word}</em>:<ul class="schema">${branches.map((b) => `<li>${renderSchema(b, depth + 1)}</li>`).join('')}</ul></li>`,
      );
  }
  if (children.length) out.push(`<ul class="schema">${children.join('')}</ul>`);
  return out.join('');
}

function parameters(params: unknown[]): string {
  const rows = params.filter(isObj).map((p) => {
    const schema = isObj(p.schema) ? typeLine(p.schema) : '';
    const name = `<code>${esc(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}`;
    return `<tr><th scope="row">${name}</th><td>${esc(p.in)}</td><td>${schema}</td><td>${esc(p.description ?? '')}</td></tr>`;
  });
  if (!rows.length) return '';
  return `<h4>Parameters</h4><table>${headerRow(['Name', 'In', 'Schema', 'Description'])}<tbody>${rows.join('')}</tbody></table>`;
}

function content(c: unknown): string {
  if (!isObj(c)) return '';
  return Object.entries(c)
    .map(
      ([type, media]) =>
        `<p><code>${esc(type)}</code></p>${isObj(media) && media.schema !== undefined ? renderSchema(media.schema) : ''}`,
    )
    .join('');
}

function operation(path: string, method: string, op: Json, shared: unknown[]): string {
  const id = anchor('op', `${method}-${path}`);
  const params = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])];
  const body = isObj(op.requestBody)
    ? `<h4>Request body${op.requestBody.required ? ' <span class="req">required</span>' : ''}</h4>` +
      (typeof op.requestBody.description === 'string' ? `<p>${esc(op.requestBody.description)}</p>` : '') +
      content(op.requestBody.content)
    : '';
  const responses = isObj(op.responses)
    ? `<h4>Responses</h4><dl>${Object.entries(op.responses)
        .map(
          ([status, r]) =>
            `<dt><strong>${esc(status)}</strong> ${isObj(r) ? esc(r.description ?? '') : ''}</dt><dd>${isObj(r) ? content(r.content) : ''}</dd>`,
        )
        .join('')}</dl>`
    : '';
  const scope = op['x-required-scope'];
  const security =
    Array.isArray(op.security) && op.security.length === 0
      ? '<p class="muted">No authentication.</p>'
      : scope === 'root'
        ? '<p class="muted">Operator key only.</p>'
        : typeof scope === 'string'
          ? `<p class="muted">Scope: <code>${esc(scope)}</code> (admin holds every scope).</p>`
          : '';
  return `<section class="op" id="${id}" aria-labelledby="${id}-h">
<h3 id="${id}-h"><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span><span class="path">${esc(path)}</span></h3>
${typeof op.summary === 'string' ? `<p><strong>${esc(op.summary)}</strong></p>` : ''}
${typeof op.description === 'string' ? `<p>${esc(op.description)}</p>` : ''}
${security}${parameters(params)}${body}${responses}
</section>`;
}

/** The API reference page from an OpenAPI 3.1 document. */
export function renderApiReference(openapi: object): string {
  const doc = openapi as Json;
  const info = isObj(doc.info) ? doc.info : {};
  const title = typeof info.title === 'string' ? info.title : 'API reference';
  const paths = isObj(doc.paths) ? doc.paths : {};
  const ops: { path: string; method: string; op: Json; shared: unknown[]; tag: string }[] = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!isObj(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (isObj(op))
        ops.push({
          path,
          method,
          op,
          shared,
          tag: Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : 'other',
        });
    }
  }
  const tags = [...new Set(ops.map((o) => o.tag))];
  const schemas = isObj(doc.components) && isObj(doc.components.schemas) ? doc.components.schemas : {};
  const nav = tags
    .map(
      (tag) =>
        `<p class="muted"><strong>${esc(tag)}</strong></p><ul>${ops
          .filter((o) => o.tag === tag)
          .map(
            (o) =>
              `<li><a href="#${anchor('op', `${o.method}-${o.path}`)}">${esc(o.method.toUpperCase())} ${esc(o.path)}</a></li>`,
          )
          .join('')}</ul>`,
    )
    .join('');
  const schemaNav = Object.keys(schemas).length
    ? `<p class="muted"><strong>Schemas</strong></p><ul>${Object.keys(schemas)
        .map((n) => `<li><a href="#${anchor('schema', n)}">${esc(n)}</a></li>`)
        .join('')}</ul>`
    : '';
  const body = tags
    .map(
      (tag) =>
        `<section aria-labelledby="${anchor('tag', tag)}"><h2 id="${anchor('tag', tag)}">${esc(tag)}</h2>${ops
          .filter((o) => o.tag === tag)
          .map((o) => operation(o.path, o.method, o.op, o.shared))
          .join('\n')}</section>`,
    )
    .join('\n');
  const components = Object.keys(schemas).length
    ? `<section aria-labelledby="schemas-h"><h2 id="schemas-h">Schemas</h2>${Object.entries(schemas)
        .map(([n, s]) => `<h3 id="${anchor('schema', n)}">${esc(n)}</h3>${renderSchema(s)}`)
        .join('\n')}</section>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${esc(title)} — API reference</title>
<style>${DOCS_CSS}</style>
</head>
<body>
<div class="layout">
<nav class="index" aria-label="Operations"><p><a href="/">← Console</a> · <a href="/openapi.json">openapi.json</a></p>${nav}${schemaNav}</nav>
<main>
<h1>${esc(title)}${typeof info.version === 'string' ? ` <span class="muted">${esc(info.version)}</span>` : ''}</h1>
${typeof info.description === 'string' ? `<p>${esc(info.description)}</p>` : ''}
<p class="muted">OpenAPI ${esc(doc.openapi ?? '')}. Authenticate with <code>Authorization: Bearer &lt;api key&gt;</code>.</p>
${body}
${components}
</main>
</div>
</body>
</html>
`;
}
