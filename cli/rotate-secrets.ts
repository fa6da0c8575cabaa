// `opstrails-impact rotate-secrets [--reset-unreadable]`: re-encrypt every org's connection
// secrets under the current key; and the start-up check that says when they cannot be read.
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { UNDECRYPTABLE_FIX, type UnreadableSecrets } from '../store/connections.js';
import { openStore, type Store } from '../store/index.js';
import type { KeyDescription } from '../store/secrets.js';
import { ConfigError, loadConfig } from './config.js';
import { storeOptions } from './serve.js';

export const ROTATE_SECRETS_USAGE = `usage: opstrails-impact rotate-secrets [--reset-unreadable]

Re-encrypt the connection and webhook secrets of every org under the current key
(OPSTRAILS_SECRET_KEY, else the file OPSTRAILS_SECRET_KEY_FILE, else DATA_DIR/secret.key),
reading each with whichever configured key opens it: the current one, the
OPSTRAILS_SECRET_KEY_PREVIOUS keys, and on the embedded store DATA_DIR/secret.key
when another key is current. Prints how many were re-encrypted, were already
current, and cannot be decrypted with any configured key (by org and connection);
exits 1 when there are any of the last.

On the embedded store stop the service first (one process owns DATA_DIR). With
CLICKHOUSE_URL it runs beside the serving replicas.

  --reset-unreadable   replace the secrets no configured key decrypts with empty ones and
                       mark their connections failing, so an admin enters them again
                       (PATCH /v1/connections/{id}). Only when the key they were stored
                       under is lost for good.
`;

/** Where the command writes (tests capture it). */
export interface CommandOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processOutput: CommandOutput = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

/** Run the rotate-secrets command; resolves with the exit code. */
export async function rotateSecrets(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: CommandOutput = processOutput,
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { 'reset-unreadable': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    out.stderr(`opstrails-impact rotate-secrets: ${(err as Error).message}\n\n${ROTATE_SECRETS_USAGE}`);
    return 2;
  }
  if (args.help) {
    out.stdout(ROTATE_SECRETS_USAGE);
    return 0;
  }
  const reset = args['reset-unreadable'] === true;
  const config = loadConfig(env);
  let store: Store;
  try {
    store = await openStore(storeOptions(config));
  } catch (err) {
    // chDB refuses a data directory another process holds (and prints its own line about the lock).
    if (config.CLICKHOUSE_URL || (err as Error).name !== 'ChdbConnectionError') throw err;
    out.stderr(
      `opstrails-impact rotate-secrets: ${config.DATA_DIR} is open in another process: stop the service first ` +
        '(one process owns DATA_DIR)\n',
    );
    return 1;
  }
  try {
    const keys = store.connections.keys();
    out.stdout(`keys: ${describeKeys(keys)}\n`);
    const scan = await store.connections.scanSecrets({ reseal: true, resetUnreadable: reset });
    out.stdout(
      `re-encrypted ${scan.stale.length}, already current ${scan.current.length}, ` +
        `unreadable ${scan.unreadable.length}${reset && scan.unreadable.length > 0 ? ' (reset)' : ''}\n`,
    );
    for (const u of scan.unreadable) {
      out.stdout(`unreadable: org ${u.org_id} connection ${u.connection_id} (${u.reason})\n`);
    }
    const hooks = await store.orgs.resealNotifySecrets({ resetUnreadable: reset });
    out.stdout(
      `webhook secrets: re-encrypted ${hooks.resealed}, already current ${hooks.current}, ` +
        `unreadable ${hooks.unreadable.length}${reset && hooks.unreadable.length > 0 ? ' (webhook removed)' : ''}\n`,
    );
    for (const org of hooks.unreadable) out.stdout(`unreadable: org ${org} webhook secret\n`);
    // 1 when any secret stays unreadable (without --reset-unreadable).
    const hooksStatus = hooks.unreadable.length > 0 && !reset ? 1 : 0;
    if (hooksStatus) {
      out.stderr(
        `opstrails-impact rotate-secrets: ${hooks.unreadable.length} webhook secret(s) cannot be decrypted with any ` +
          'configured key: configure the key they were sealed under, or run with --reset-unreadable and have the ' +
          "org's admin set the webhook again (PATCH /v1/org)\n",
      );
    }
    if (scan.unreadable.length > 0) {
      if (reset) {
        out.stderr(
          `opstrails-impact rotate-secrets: ${scan.unreadable.length} connection(s) had secrets no configured key ` +
            'decrypts: they now hold empty secrets and are marked failing; enter their secrets again ' +
            '(PATCH /v1/connections/{id}), then check them\n',
        );
        return hooksStatus;
      }
      out.stderr(
        `opstrails-impact rotate-secrets: ${scan.unreadable.length} connection secret(s) cannot be decrypted ` +
          `with any configured key: ${UNDECRYPTABLE_FIX}\n`,
      );
      return 1;
    }
    const done = keys.filter((k) => !k.current).map((k) => k.source);
    if (done.length > 0 && hooksStatus === 0) {
      const names = unique(done.map(variableOf));
      out.stdout(
        `every secret is under the current key ${keys[0].id}: ${names.join(' and ')} ` +
          `${names.length > 1 ? 'are' : 'is'} no longer needed by this store` +
          (done.some((s) => s.startsWith('key file'))
            ? ' (delete the key file so a copy of DATA_DIR holds no key)'
            : '') +
          '\n',
      );
    }
    return hooksStatus;
  } finally {
    await store.close();
  }
}

/**
 * At start-up: are the stored secrets readable with the configured keys? When none
 * is (and some exist) the key is wrong for the whole store: a configuration error,
 * refused with one line (ConfigError) before anything is sealed under it. When only
 * some are, those rows are the problem (restored from elsewhere, sealed under a key
 * since lost): the service starts, says so loudly in one log line, and answers
 * secret_undecryptable for those connections only.
 */
export async function checkStoredSecrets(store: Store, logger: Logger): Promise<void> {
  const scan = await store.connections.scanSecrets();
  const keys = store.connections.keys();
  const readable = scan.current.length + scan.stale.length;
  if (scan.unreadable.length > 0) {
    const total = readable + scan.unreadable.length;
    if (readable === 0) throw new ConfigError(undecryptableLine(keys, scan.unreadable, total));
    logger.error(
      {
        code: 'secret_undecryptable',
        connections: scan.unreadable.map((u) => ({
          org_id: u.org_id,
          connection_id: u.connection_id,
          key_id: u.key_id,
        })),
      },
      undecryptableLine(keys, scan.unreadable, total),
    );
  }
  if (scan.stale.length > 0) {
    logger.info(
      { stale: scan.stale.length, key_id: keys[0].id },
      `${scan.stale.length} stored connection secret(s) are under a previous key: each is re-encrypted under ` +
        `${variableOf(keys[0].source)} when it is next read, or all at once by \`opstrails-impact rotate-secrets\``,
    );
  }
}

/** One line naming the keys tried, the connections they do not open, and the fix. */
function undecryptableLine(keys: KeyDescription[], unreadable: UnreadableSecrets[], total: number): string {
  const variables = unique(keys.map((k) => variableOf(k.source)));
  const subject =
    variables.length === 1
      ? `${variables[0]} does not decrypt`
      : `no configured key (${variables.join(', ')}) decrypts`;
  const shown = unreadable.slice(0, 5).map((u) => `org ${u.org_id} connection ${u.connection_id}`);
  if (unreadable.length > shown.length) shown.push(`and ${unreadable.length - shown.length} more`);
  const keyIds = unique(unreadable.flatMap((u) => (u.key_id ? [u.key_id] : [])));
  const sealedUnder = keyIds.length > 0 ? `; sealed under key ${keyIds.join(', ')}` : '';
  const all = unreadable.length === total;
  return (
    `${subject} ${all ? `any of the ${total}` : `${unreadable.length} of ${total}`} stored connection secrets ` +
    `(${shown.join('; ')}${sealedUnder})` +
    (all ? '' : '; their checks, previews and fetches fail with secret_undecryptable until then') +
    `: ${UNDECRYPTABLE_FIX}`
  );
}

/** "id (source)" for each key, current first. */
function describeKeys(keys: KeyDescription[]): string {
  const [current, ...previous] = keys;
  const line = `current ${current.id} (${current.source})`;
  return previous.length === 0 ? line : `${line}; previous ${previous.map((k) => `${k.id} (${k.source})`).join(', ')}`;
}

/** The variable (or key file) a key source names: "OPSTRAILS_SECRET_KEY_PREVIOUS[2]" → "OPSTRAILS_SECRET_KEY_PREVIOUS". */
const variableOf = (source: string) => source.replace(/\[\d+\]$/, '');

const unique = (items: string[]) => [...new Set(items)];
