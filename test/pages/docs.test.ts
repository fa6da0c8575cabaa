// The API reference renderer over a small hand-written OpenAPI 3.1 document.
import { describe, expect, it } from 'vitest';
import { renderApiReference, renderSchema } from '../../api/pages/docs.js';
import { SAMPLE_OPENAPI } from './sample-openapi.js';

describe('renderApiReference', () => {
  const html = renderApiReference(SAMPLE_OPENAPI);

  it('lists every operation in the index and gives each a section', () => {
    const ops = [
      ['get', '/v1/events'],
      ['post', '/v1/events'],
      ['get', '/v1/events/{id}/impact'],
      ['get', '/healthz'],
    ];
    for (const [method, path] of ops) {
      const id = `op-${method}-${path.replace(/[^A-Za-z0-9_]+/g, '-').replace(/^-+|-+$/g, '')}`;
      expect(html).toContain(`<a href="#${id}">${method.toUpperCase()} ${path}</a>`);
      expect(html).toContain(`<section class="op" id="${id}"`);
    }
    expect(html.match(/<section class="op"/g)).toHaveLength(ops.length);
  });

  it('shows parameters (path-level ones too), request bodies and responses', () => {
    const impact = html.slice(html.indexOf('id="op-get-v1-events-id-impact"'));
    expect(impact).toMatch(/<code>id<\/code> <span class="req">required<\/span><\/th><td>path<\/td>/);
    expect(html).toContain('<span class="type">integer</span>, ≥ 1, ≤ 1000, default <code>100</code>');
    expect(html).toContain('<h4>Request body <span class="req">required</span></h4>');
    expect(html).toContain('<code>application/cloudevents+json</code>');
    expect(html).toContain('<a href="#schema-CloudEvent" class="type">CloudEvent</a>');
    expect(html).toContain('<dt><strong>202</strong> Stored</dt>');
    expect(html).toContain('<p class="muted">No authentication.</p>');
  });

  it('renders JSON Schemas readably: required marks, enums, compositions, components', () => {
    expect(html).toContain(
      '<code>accepted</code> <span class="req">required</span>: <span class="type">array of string</span>',
    );
    expect(html).toContain('one of <code>&quot;pending&quot;</code>, <code>&quot;ready&quot;</code>');
    expect(html).toContain('<em>any of</em>:');
    expect(html).toContain('<h3 id="schema-CloudEvent">CloudEvent</h3>');
    expect(html).toContain('<em>any other key</em>: <span class="type">string | number | boolean</span>');
    expect(html).toContain('always <code>&quot;1.0&quot;</code>');
  });

  it('escapes descriptions and names, and is self-contained', () => {
    expect(html).toContain('Metric &lt;name&gt;');
    expect(html).not.toMatch(/<script|<img|\ssrc=|\sstyle=|https?:\/\//i);
    expect(html).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(html.match(/<h1>/g)).toHaveLength(1);
  });

  it('names the scope an operation needs', () => {
    const doc = {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: { '/x': { get: { 'x-required-scope': 'read', responses: {} }, post: { 'x-required-scope': 'root' } } },
    };
    const out = renderApiReference(doc);
    expect(out).toContain('<p class="muted">Scope: <code>read</code> (admin holds every scope).</p>');
    expect(out).toContain('<p class="muted">Operator key only.</p>');
  });

  it('stops at a bounded depth on deeply nested schemas', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 50; i++) deep = { type: 'object', properties: { next: deep } };
    const out = renderSchema(deep);
    expect(out).toContain('…');
    expect(out.match(/<code>next<\/code>/g)!.length).toBeLessThan(12);
  });
});
