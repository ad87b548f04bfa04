import { CommandError, UsageError } from './commands/context.js';
import { DataDirBusyError } from './commands/data-dir-lock.js';

const HELP = `tessera: accounts, profiles and files

usage: tessera <command> [options]

commands:
  serve                         serve the API and web app (npm start)
  migrate up | down [n] | status
                                apply, revert or list database migrations
  help                          this text

Settings come from the environment; see .env.example. Exit codes: 0 ok, 1 failure, 2 usage.`;

async function main(argv: string[]): Promise<number> {
  // Global flags only before the command; each command parses its own arguments strictly.
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    const { createRequire } = await import('node:module');
    console.log((createRequire(import.meta.url)('../package.json') as { version: string }).version);
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
    case 'migrate': {
      const { migrateCommand } = await import('./commands/migrate.js');
      await migrateCommand(rest);
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
