// Connection secrets at rest: AES-256-GCM under a key ring. The current key seals;
// the current and any previous keys open, so the key can be rotated without downtime.
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * "v2.<key id>.<iv>.<tag>.<body>". The key id only orders the keys tried: it is not
 * authenticated, and a wrong or altered one costs a few more attempts, never a wrong
 * answer. "v1.<iv>.<tag>.<body>" (no key id) is still read, by trying every key.
 */
const VERSION = 'v2';
const LEGACY_VERSION = 'v1';

/** A sealed secret that no configured key opens: sealed under another key, or altered. */
export class SecretUndecryptableError extends Error {
  readonly code = 'secret_undecryptable';
  readonly retryable = false;
  /** The connection whose secrets these are, when a repository raised it. */
  readonly orgId?: string;
  readonly connectionId?: string;

  constructor(
    message: string,
    /** The key id the ciphertext names (null for the old format without one). */
    readonly keyId: string | null,
    opts: { cause?: unknown; orgId?: string; connectionId?: string } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'SecretUndecryptableError';
    this.orgId = opts.orgId;
    this.connectionId = opts.connectionId;
  }
}

/** A key file that cannot be used (unreadable, readable by others, too short). The message names the path, never the key. */
export class SecretKeyFileError extends Error {
  readonly code = 'secret_key_file';
  constructor(message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'SecretKeyFileError';
  }
}

/** The short public id of a key: 8 hex digits of a hash of it (a 32-bit prefix says nothing usable about a 256-bit key). */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('opstrails-impact/secrets/key-id\0').update(key).digest('hex').slice(0, 8);
}

/** One key of the ring. `source` says where it came from, for messages; it is never the key. */
interface RingKey {
  key: Buffer;
  id: string;
  source: string;
}

/** A key as messages and the CLI show it: id and source, never the key. */
export interface KeyDescription {
  id: string;
  source: string;
  current: boolean;
}

/** Minimum length of a passphrase given as a key (as OPSTRAILS_SECRET_KEY). */
export const MIN_PASSPHRASE_LENGTH = 24;

/** Encrypts and decrypts JSON secrets; the associated data binds a ciphertext to its row. */
export class SecretBox {
  private constructor(private readonly ring: readonly RingKey[]) {}

  /** A box keyed by a passphrase (scrypt-stretched); `source` names it in messages. */
  static fromPassphrase(passphrase: string, source = 'a passphrase'): SecretBox {
    return SecretBox.of(scryptSync(passphrase, 'opstrails-impact/secrets/v1', 32), source);
  }

  /** The embedded default: DATA_DIR/secret.key, created with mode 0600 on first use. */
  static fromKeyFile(dataDir: string): SecretBox {
    const path = join(dataDir, 'secret.key');
    if (!existsSync(path)) {
      writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    chmodSync(path, 0o600);
    return SecretBox.readDataKeyFile(path);
  }

  /**
   * DATA_DIR/secret.key when it exists, never created: once another key is current it
   * is a previous key, so what it sealed stays readable until it is re-encrypted.
   */
  static existingKeyFile(dataDir: string): SecretBox | undefined {
    const path = join(dataDir, 'secret.key');
    return existsSync(path) ? SecretBox.readDataKeyFile(path) : undefined;
  }

  /**
   * A passphrase kept in a file (OPSTRAILS_SECRET_KEY_FILE: another volume, a secret
   * manager's mount): mode 0600 or stricter, content trimmed, at least 24 characters.
   */
  static fromPassphraseFile(path: string, source: string): SecretBox {
    let mode: number;
    try {
      const stat = statSync(path); // follows symbolic links, as a Kubernetes secret volume's are
      if (!stat.isFile()) throw new SecretKeyFileError(`${path} is not a file`);
      mode = stat.mode & 0o777;
    } catch (err) {
      if (err instanceof SecretKeyFileError) throw err;
      throw new SecretKeyFileError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
        cause: err,
      });
    }
    if ((mode & 0o077) !== 0) {
      throw new SecretKeyFileError(
        `${path} has mode 0${mode.toString(8)}, readable by other users: chmod 600 it (0600 or stricter; ` +
          'a Kubernetes secret volume needs defaultMode 0400)',
      );
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (err) {
      throw new SecretKeyFileError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
        cause: err,
      });
    }
    if (text.length < MIN_PASSPHRASE_LENGTH) {
      throw new SecretKeyFileError(
        `the key in ${path} has ${text.length} characters; at least ${MIN_PASSPHRASE_LENGTH} (32+ random characters)`,
      );
    }
    return SecretBox.fromPassphrase(text, source);
  }

  private static readDataKeyFile(path: string): SecretBox {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new SecretKeyFileError(`${path} does not hold a 32-byte base64 key`);
    return SecretBox.of(key, `key file ${path}`);
  }

  private static of(key: Buffer, source: string): SecretBox {
    return new SecretBox([{ key, id: keyIdOf(key), source }]);
  }

  /** This box's current key, with the keys of `previous` boxes to open what they sealed (duplicates dropped). */
  withPrevious(...previous: SecretBox[]): SecretBox {
    const ring = [...this.ring];
    for (const k of previous.flatMap((box) => box.ring)) {
      if (!ring.some((r) => r.key.equals(k.key))) ring.push(k);
    }
    return new SecretBox(ring);
  }

  /** The id of the key that seals. */
  get currentKeyId(): string {
    return this.ring[0].id;
  }

  /** Where the sealing key comes from (e.g. "OPSTRAILS_SECRET_KEY"). */
  get currentKeySource(): string {
    return this.ring[0].source;
  }

  /** The ring's keys, current first: ids and sources, no key material. */
  describeKeys(): KeyDescription[] {
    return this.ring.map((k, i) => ({ id: k.id, source: k.source, current: i === 0 }));
  }

  /** Encrypt `value` (JSON) under the current key, bound to `context` (e.g. "org/connection"). */
  seal(value: unknown, context: string): string {
    const { key, id } = this.ring[0];
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [VERSION, id, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(
      '.',
    );
  }

  /** Decrypt what `seal` made for the same context with any key of the ring; throws SecretUndecryptableError. */
  open<T = unknown>(sealed: string, context: string): T {
    return this.unseal<T>(sealed, context).value;
  }

  /**
   * Decrypt with any key of the ring, the named key first. `stale` is true when the
   * value should be sealed again: under a previous key, or in the format without a key id.
   */
  unseal<T = unknown>(sealed: string, context: string): { value: T; stale: boolean } {
    const parts = sealed.split('.');
    let keyId: string | null;
    let fields: string[];
    if (parts[0] === VERSION && parts.length === 5) [keyId, ...fields] = parts.slice(1);
    else if (parts[0] === LEGACY_VERSION && parts.length === 4) [keyId, fields] = [null, parts.slice(1)];
    else throw new SecretUndecryptableError('the stored value is not a sealed secret', null);
    const [iv, tag, body] = fields.map((f) => Buffer.from(f, 'base64'));
    const order = keyId === null ? this.ring : [...this.ring].sort((a, b) => +(b.id === keyId) - +(a.id === keyId));
    let lastError: unknown;
    for (const k of order) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', k.key, iv);
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(tag);
        const text = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
        return { value: JSON.parse(text) as T, stale: k !== this.ring[0] || keyId !== k.id };
      } catch (err) {
        lastError = err; // a wrong key fails authentication: try the next one
      }
    }
    const known = keyId !== null && this.ring.some((k) => k.id === keyId);
    throw new SecretUndecryptableError(
      keyId === null
        ? 'no configured key decrypts it (it was sealed under another key, or altered)'
        : known
          ? `it names key ${keyId}, which is configured, but does not decrypt under it (altered, or sealed for another row)`
          : `it was sealed under key ${keyId}, which is not configured`,
      keyId,
      { cause: lastError },
    );
  }
}
