// Connection secrets at rest: AES-256-GCM under OPSTRAILS_SECRET_KEY, or, on the
// embedded default, a key file generated in DATA_DIR with mode 0600.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const VERSION = 'v1';

/** Encrypts and decrypts JSON secrets; the associated data binds a ciphertext to its row. */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  /** A box keyed by a passphrase or a 32-byte key in hex/base64 (scrypt-stretched). */
  static fromPassphrase(passphrase: string): SecretBox {
    return new SecretBox(scryptSync(passphrase, 'opstrails-impact/secrets/v1', 32));
  }

  /** The embedded default: DATA_DIR/secret.key, created with mode 0600 on first use. */
  static fromKeyFile(dataDir: string): SecretBox {
    const path = join(dataDir, 'secret.key');
    if (!existsSync(path)) {
      writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    chmodSync(path, 0o600);
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte base64 key`);
    return new SecretBox(key);
  }

  /** Encrypt `value` (JSON) bound to `context` (e.g. "org/connection"). */
  seal(value: unknown, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  /** Decrypt what `seal` made for the same context; throws on tampering or a wrong key. */
  open<T = unknown>(sealed: string, context: string): T {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('unrecognised secret format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    return JSON.parse(text) as T;
  }
}
