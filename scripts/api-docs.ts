// Write docs/api.md from the app's OpenAPI document (the one /openapi.json serves),
// built as `serve` builds it (with /metrics) over a throwaway embedded store.
//   npx tsx scripts/api-docs.ts           write docs/api.md
//   npx tsx scripts/api-docs.ts --check   exit 1 when docs/api.md is out of date
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { buildApp } from '../api/app.js';
import { renderApiMarkdown } from '../api/pages/docs-markdown.js';
import { createRuntime } from '../runtime.js';

const target = new URL('../docs/api.md', import.meta.url);
const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-api-docs-'));
const runtime = await createRuntime({
  store: { database: 'api_docs', dataDir },
  logger: pino({ level: 'silent' }),
  registry: new Registry(),
});
const app = await buildApp(runtime);
await app.ready();
const markdown = renderApiMarkdown(app.openapi());
await app.close();
await runtime.close();
rmSync(dataDir, { recursive: true, force: true });

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch (err) {
    // A missing file is simply out of date; anything else (permissions) is reported as such.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (current !== markdown) {
    process.stderr.write('docs/api.md is out of date: run npm run docs:api\n');
    process.exit(1);
  }
  process.stdout.write('docs/api.md is up to date\n');
} else {
  writeFileSync(target, markdown);
  process.stdout.write(`wrote docs/api.md (${markdown.length} characters)\n`);
}
