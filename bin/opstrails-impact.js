#!/usr/bin/env node
// Entry point of the installed command. Where the TypeScript sources are (a clone, a git
// install) it runs them through tsx, so an edit never meets a stale build; where only the
// compiled tree ships (the container image: dist/ without sources) it runs dist/ on plain Node.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (existsSync(new URL('../cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
