import { randomBytes } from 'node:crypto';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Kysely } from 'kysely';
import type { Container } from '../container.js';
import { migrateUp } from '../db/migrator.js';
import { AppError } from '../errors/app-error.js';
import { NO_REQUEST } from '../modules/auth/audit.js';
import { SigningKeyError } from '../modules/auth/signing-keys.js';
import { CommandError, readConfigOrExit, UsageError, withContainer } from './context.js';

/**
 * `tessera admin|sessions|keys|clients …`: the account operations an operator runs by hand.
 * Each opens the container (refusing while a server holds the embedded data), brings the
 * schema up to date like `serve` does, and calls one service.
 */
async function withAccounts<T>(name: string, fn: (c: Container) => Promise<T>): Promise<T> {
  const config = readConfigOrExit(process.env);
  return withContainer(config, name, async (container) => {
    if (config.database.migrateOnStart) await migrateUp(container.database.db as unknown as Kysely<unknown>);
    try {
      return await fn(container);
    } catch (err) {
      if (err instanceof AppError && err.status < 500) {
        const details = err.errors?.map((e) => `${e.field} ${e.message}`).join('; ');
        throw new CommandError(`${err.detail ?? err.title}${details ? `: ${details}` : ''}`);
      }
      throw err;
    }
  });
}

function parse(args: string[], options: ParseArgsConfig['options'], usage: string) {
  try {
    return parseArgs({ args, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const ADMIN_USAGE = 'tessera admin create --email E [--password-stdin] | admin lock EMAIL | admin unlock EMAIL';

export async function adminCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action === 'create') {
    const { values, positionals } = parse(rest, { email: { type: 'string' }, 'password-stdin': { type: 'boolean' } }, ADMIN_USAGE);
    if (!values.email || positionals.length) throw new UsageError(`usage: ${ADMIN_USAGE}`);
    const fromStdin = values['password-stdin'] === true;
    // Without --password-stdin a strong random password is made and shown once.
    const password = fromStdin ? await readStdin() : `${randomBytes(18).toString('base64url')}-Aa1!`;
    if (fromStdin && !password) throw new UsageError('--password-stdin: nothing was read from standard input');
    const user = await withAccounts('admin create', (c) => c.auth.admin.createAdmin(String(values.email), password, NO_REQUEST));
    console.log(`created admin ${user.email} (${user.id})`);
    if (!fromStdin) console.log(`password (shown once): ${password}`);
    return;
  }
  if (action === 'lock' || action === 'unlock') {
    const { positionals } = parse(rest, {}, ADMIN_USAGE);
    if (positionals.length !== 1) throw new UsageError(`usage: ${ADMIN_USAGE}`);
    await withAccounts(`admin ${action}`, async ({ auth }) => {
      const user = await auth.admin.findByEmail(positionals[0]!);
      if (action === 'lock') {
        await auth.admin.lockUser(null, user.id, null, NO_REQUEST);
        console.log(`locked ${user.email}; its sessions are signed out`);
      } else {
        await auth.admin.unlockUser(null, user.id, NO_REQUEST);
        console.log(`unlocked ${user.email}`);
      }
    });
    return;
  }
  throw new UsageError(`usage: ${ADMIN_USAGE}`);
}

const SESSIONS_USAGE = 'tessera sessions revoke-all [--user EMAIL]';

export async function sessionsCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'revoke-all') throw new UsageError(`usage: ${SESSIONS_USAGE}`);
  const { values, positionals } = parse(rest, { user: { type: 'string' } }, SESSIONS_USAGE);
  if (positionals.length) throw new UsageError(`usage: ${SESSIONS_USAGE}`);
  await withAccounts('sessions revoke-all', async ({ auth }) => {
    const user = values.user ? await auth.admin.findByEmail(String(values.user)) : null;
    const ended = await auth.sessions.revokeAll('operator_revoked', user ? { userId: user.id } : {});
    await auth.audit.record('sessions.revoked_all', { userId: user?.id ?? null, details: { sessions_ended: ended, via: 'cli' } }, NO_REQUEST);
    console.log(`signed out ${ended} session${ended === 1 ? '' : 's'}${user ? ` of ${user.email}` : ''}`);
  });
}

const KEYS_USAGE = 'tessera keys rotate';

export async function keysCommand(args: string[]): Promise<void> {
  if (args.length !== 1 || args[0] !== 'rotate') throw new UsageError(`usage: ${KEYS_USAGE}`);
  await withAccounts('keys rotate', async ({ auth, config }) => {
    try {
      const kid = await auth.rotateKeys();
      const minutes = Math.max(config.auth.accessTokenMinutes, config.auth.serviceTokenMinutes);
      console.log(`new signing key ${kid} is active; the previous key verifies its tokens for ${minutes} more minutes`);
    } catch (err) {
      if (err instanceof SigningKeyError) throw new CommandError(err.message);
      throw err;
    }
  });
}

const CLIENTS_USAGE = 'tessera clients create --name N --scopes "S1 S2"';

export async function clientsCommand(args: string[]): Promise<void> {
  const [action, ...rest] = args;
  if (action !== 'create') throw new UsageError(`usage: ${CLIENTS_USAGE}`);
  const { values, positionals } = parse(rest, { name: { type: 'string' }, scopes: { type: 'string' } }, CLIENTS_USAGE);
  if (!values.name || values.scopes === undefined || positionals.length) throw new UsageError(`usage: ${CLIENTS_USAGE}`);
  const scopes = String(values.scopes).split(/[\s,]+/).filter(Boolean);
  const created = await withAccounts('clients create', (c) => c.auth.clients.create({ name: String(values.name), scopes }, null, NO_REQUEST));
  console.log(`client_id:     ${created.client_id}`);
  console.log(`client_secret: ${created.client_secret}`);
  console.log(`scopes:        ${created.scopes.join(' ') || '(none)'}`);
  console.log('The secret is shown only now; store it where the service reads its configuration.');
}
