/**
 * The server's long-term X25519 key on disk: a PKCS#8 PEM file (mode 0600), made on first start.
 * Clients pin its fingerprint (`?fp=` in a tributary:// URL) or trust it on first use.
 * Two servers starting at once on one file both end with the key that won the exclusive create.
 */
import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fingerprint, keyPairOf, type KeyPair } from '../transport/crypto/keys.js';

/** Where keys and known hosts live unless told otherwise: $TRIBUTARY_HOME, else ~/.tributary. */
export function dataDir(): string {
  return process.env['TRIBUTARY_HOME'] || join(homedir(), '.tributary');
}

export function defaultServerKeyFile(): string {
  return join(dataDir(), 'server-key.pem');
}

export interface ServerKey {
  keyPair: KeyPair;
  fingerprint: string;
  file: string;
  /** True when this call made the file. */
  created: boolean;
}

export class ServerKeyError extends Error {
  constructor(file: string, why: string) {
    super(`server key ${file}: ${why}`);
    this.name = 'ServerKeyError';
  }
}

/** Loads the key at `file`, creating it (and its directory) if there is none. */
export function loadOrCreateServerKey(file = defaultServerKeyFile()): ServerKey {
  let created = false;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ServerKeyError(file, (e as Error).message);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const fresh = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    try {
      writeFileSync(file, fresh, { flag: 'wx', mode: 0o600 });
      created = true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw new ServerKeyError(file, (e2 as Error).message);
    }
    pem = readFileSync(file, 'utf8');
  }
  let keyPair: KeyPair;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'x25519') throw new Error(`not an X25519 key (${key.asymmetricKeyType})`);
    keyPair = keyPairOf(key);
  } catch (e) {
    throw new ServerKeyError(file, (e as Error).message);
  }
  return { keyPair, fingerprint: fingerprint(keyPair.publicKey), file, created };
}
