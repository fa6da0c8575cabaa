// The Markdown API reference (docs/api.md) over the small hand-written OpenAPI document.
import { describe, expect, it } from 'vitest';
import { markdownSchema, renderApiMarkdown, slug } from '../../api/pages/docs-markdown.js';
import { SAMPLE_OPENAPI } from './sample-openapi.js';

describe('renderApiMarkdown', () => {
  const md = renderApiMarkdown(SAMPLE_OPENAPI);

  it('gives every operation a heading that the contents link to', () => {
    for (const op of ['POST /v1/events', 'GET /v1/events', 'GET /v1/events/{id}/impact', 'GET /healthz']) {
      expect(md).toContain(`\n### ${op}\n`);
      expect(md).toContain(`[${op}](#${slug(op)})`);
    }
    // Every in-page link points at a heading of the document.
    const anchors = new Set([...md.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])));
    for (const link of md.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors, link[1]).toContain(link[1]);
  });

  it('shows parameters (path-level ones too), bodies, responses and schemas', () => {
    expect(md).toContain('| `id` | path | yes | string — Event id |');
    expect(md).toContain('| `limit` | query | no | integer, ≥ 1, ≤ 1000, default `100` |');
    expect(md).toContain('Request body (required):\n\n- `application/cloudevents+json`\n  - [CloudEvent](#cloudevent)');
    expect(md).toContain(
      '- **202** Stored\n  - `application/json`\n    - object\n      - `accepted` **required**: array of string',
    );
    expect(md).toContain('No authentication.');
    expect(md).toContain('\n### CloudEvent\n');
  });

  it('escapes HTML and table separators, and says it is generated', () => {
    expect(md).toContain('Metric &lt;name&gt;');
    // Outside code spans (where <api key> is literal text), no HTML tag but the generated-by comment.
    expect(md.replace(/`[^`\n]*`/g, '')).not.toMatch(/<(?!!--)[a-z]/i);
    expect(md).toMatch(/^# OpsTrails Impact\n\n<!-- Generated .*npm run docs:api/);
  });

  it('names the scope an operation needs', () => {
    const doc = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: { '/x': { get: { 'x-required-scope': 'read', responses: {} }, post: { 'x-required-scope': 'root' } } },
    };
    const out = renderApiMarkdown(doc);
    expect(out).toContain('Scope: `read` (admin holds every scope).');
    expect(out).toContain('Operator key only.');
  });
});

describe('markdownSchema', () => {
  it('puts the branches of a composition right under it, with its description', () => {
    const lines = markdownSchema({ anyOf: [{ type: 'string' }, { type: 'null' }], description: 'null while pending' });
    expect(lines).toEqual(['- *any of* — null while pending:', '  - string', '  - null']);
  });

  it('stops at a bounded depth on deeply nested schemas', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 50; i++) deep = { type: 'object', properties: { next: deep } };
    const lines = markdownSchema(deep);
    expect(lines.at(-1)).toContain('…');
    expect(lines.length).toBeLessThan(12);
  });
});
