// The compiled service (`npm run build` → dist/) run by plain Node, as the container image
// runs it: no tsx, assets it reads at start-up copied, first-start key, an event, SIGTERM.
// Skipped locally when dist/ was not built; under CI=true a missing dist/ is a failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const built = existsSync(MAIN);
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!built && process.env.CI !== 'true')(
  built ? 'the compiled service (dist/) under plain node' : 'the compiled service (dist/ not built: `npm run build`)',
  () => {
    if (!built) {
      it('needs dist/ under CI (`npm run build` before `npm test`)', () => {
        throw new Error(`${MAIN} is missing: .ci/run builds it before the tests`);
      });
      return;
    }

    const dataDir = mkdtempSync(join(tmpdir(), 'opstrails-dist-'));
    let proc: ChildProcess | undefined;
    afterAll(() => {
      if (proc?.exitCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('serves on chDB, prints the first-start key, stores an event and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      // Only these variables: no NODE_OPTIONS or loader from the test runner reaches the child.
      const child = spawn(process.execPath, [MAIN, 'serve'], {
        cwd: tmpdir(),
        env: { PATH: process.env.PATH, PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      });
      proc = child;
      const stderr: string[] = [];
      child.stderr.on('data', (d) => stderr.push(String(d)));
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

      let ready = false;
      for (let i = 0; i < 300 && !ready; i++) {
        if (child.exitCode !== null) throw new Error(`dist service exited: ${stderr.join('')}`);
        ready = await fetch(`${base}/readyz`).then(
          (r) => r.status === 200,
          () => false, // not listening yet
        );
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ready, stderr.join('')).toBe(true);
      // The key is printed once the scheduler has started too, just after /readyz can answer.
      for (let i = 0; i < 100 && !/otk_/.test(stderr.join('')); i++) await new Promise((r) => setTimeout(r, 50));
      const key = /otk_[A-Za-z0-9_-]+/.exec(stderr.join(''))?.[0];
      expect(key, 'first start prints an admin key on stderr').toBeDefined();
      const auth = { authorization: `Bearer ${key}` };

      const posted = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({
          specversion: '1.0',
          id: 'dist-deploy-1',
          source: 'github.com/acme/shop',
          type: 'deployment',
          subject: 'production',
          time: '2026-11-26T10:00:00Z',
        }),
      });
      expect(posted.status).toBe(202);
      expect((await posted.json()).accepted).toEqual(['dist-deploy-1']);
      const listed = await (await fetch(`${base}/v1/events`, { headers: auth })).json();
      expect(listed.items.map((e: { id: string }) => e.id)).toEqual(['dist-deploy-1']);

      // What only the compiled tree can get wrong: the console's script file copied next to
      // dist/api/pages/, and the MCP server finding package.json from dist/mcp/.
      const consolePage = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain(
        readFileSync(join(ROOT, 'api/pages/console.client.js'), 'utf8').trim().split('\n')[0],
      );
      const mcp = await fetch(`${base}/mcp`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'dist-test', version: '1' } },
        }),
      });
      expect(mcp.status).toBe(200);
      expect((await mcp.json()).result.serverInfo).toEqual({ name: 'opstrails-impact', version });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }, 60_000);
  },
);
