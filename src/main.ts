import { CommandError, UsageError } from './commands/context.js';
import { DataDirBusyError } from './commands/data-dir-lock.js';

const HELP = `tessera: accounts, profiles and files

usage: tessera <command> [options]

commands:
  serve                         serve the API and web app (npm start)
  migrate up | down [n] | status
                                apply, revert or list database migrations
  admin create --email E [--password-stdin]
                                create an admin account (without --password-stdin a
                                random password is printed once)
  admin lock|unlock EMAIL       lock an account (signing it out) or unlock it
  sessions revoke-all [--user EMAIL]
                                sign out every session (or one person's)
  keys rotate                   new token signing key; the old one verifies until its tokens expire
  clients create --name N --scopes S
                                an OAuth client for another service (prints the secret once)
  backup [--out FILE]           database, local uploads and signing keys in one archive
  restore FILE                  restore an archive into an empty database and data directory
  storage cleanup [--apply] [--min-age MINUTES]
                                find objects no row points at and rows whose object is
                                gone; a dry run unless --apply
  help                          this text

Settings come from the environment; see .env.example. Exit codes: 0 ok, 1 failure, 2 usage.`;

async function main(argv: string[]): Promise<number> {
  // Global flags only before the command; each command parses its own arguments strictly.
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    const { PACKAGE_VERSION } = await import('./package-root.js');
    console.log(PACKAGE_VERSION);
    return 0;
  }
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'serve': {
      const { serveCommand } = await import('./commands/serve.js');
      await serveCommand();
      return -1; // keeps running until a signal
    }
    case 'backup': {
      const { backupCommand } = await import('./commands/backup.js');
      await backupCommand(rest);
      return 0;
    }
    case 'restore': {
      const { restoreCommand } = await import('./commands/backup.js');
      await restoreCommand(rest);
      return 0;
    }
    case 'storage': {
      const { storageCommand } = await import('./commands/storage.js');
      await storageCommand(rest);
      return 0;
    }
    case 'migrate': {
      const { migrateCommand } = await import('./commands/migrate.js');
      await migrateCommand(rest);
      return 0;
    }
    case 'admin':
    case 'sessions':
    case 'keys':
    case 'clients': {
      const commands = await import('./commands/accounts.js');
      const run = { admin: commands.adminCommand, sessions: commands.sessionsCommand, keys: commands.keysCommand, clients: commands.clientsCommand }[command];
      await run(rest);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"; see tessera --help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`tessera: ${err.message}`);
      process.exit(2);
    }
    if (err instanceof CommandError || err instanceof DataDirBusyError) {
      console.error(`tessera: ${err.message}`);
      process.exit(1);
    }
    console.error(`tessera: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
