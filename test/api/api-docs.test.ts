// docs/api.md is the app's OpenAPI document as Markdown: this fails when a route,
// schema or description changed and `npm run docs:api` was not run.
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { renderApiMarkdown } from '../../api/pages/docs-markdown.js';
import { createRuntime } from '../../runtime.js';
import { testStore } from '../support/store.js';

it('docs/api.md matches the OpenAPI document (regenerate with npm run docs:api)', async () => {
  // Built as `serve` builds it: with a Prometheus registry, so /metrics is documented too.
  const runtime = await createRuntime({
    store: await testStore(),
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
  });
  const app = await buildApp(runtime);
  try {
    await app.ready();
    const expected = renderApiMarkdown(app.openapi());
    const committed = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    // One line of difference is enough to say where: compare line by line first.
    expect(committed.split('\n')).toEqual(expected.split('\n'));
    expect(expected).toContain('### GET /v1/jobs');
    expect(expected).not.toMatch(/API\.md/);
  } finally {
    await app.close();
    await runtime.close();
  }
});
