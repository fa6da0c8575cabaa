// The `opstrails-impact` command. Each command is loaded when it is called: the
// client commands (send, report, mcp) start in milliseconds without the store, the
// scheduler and chDB that serve, demo and backfill load.
import { ConfigError, loadConfig } from './config.js';

const USAGE = `usage: opstrails-impact <command>

commands:
  serve     run the HTTP API (default; configuration from environment variables, see README)
  demo      load a synthetic demo (testdata connection, metrics, a week of deployments), then serve
  send      send an event (a deployment, ...) from a CI pipeline; --wait for its report (send --help)
  report    print an event's impact report from a running service (report --help)
  backfill  pull a metric's history into the store (backfill --help)
  rotate-secrets  re-encrypt every connection secret under the current key (rotate-secrets --help)
  mcp       serve the read-only MCP tools over stdio for AI assistants (mcp --help)
  help      show this text
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve'] = argv;
  switch (command) {
    case 'serve':
      await (await import('./serve.js')).serve(loadConfig());
      return -1; // keep running
    case 'demo':
      await (await import('./demo.js')).demo();
      return -1; // keep serving
    case 'backfill':
      return (await import('./backfill.js')).backfill(argv.slice(1));
    case 'rotate-secrets':
      return (await import('./rotate-secrets.js')).rotateSecrets(argv.slice(1));
    case 'report':
      return (await import('./report.js')).report(argv.slice(1));
    case 'send':
      return (await import('./send.js')).send(argv.slice(1));
    case 'mcp':
      return (await import('./mcp.js')).mcp(argv.slice(1));
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`opstrails-impact: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`opstrails-impact: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
