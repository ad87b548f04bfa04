import { defineConfig } from 'vitest/config';

// Every API suite runs twice: on the embedded defaults and on real PostgreSQL + Redis.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    projects: [
      { test: { name: 'unit', include: ['src/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'embedded',
          include: ['test/**/*.test.ts'],
          env: { TEST_BACKEND: 'embedded' },
          globalSetup: ['test/helpers/global-setup-embedded.ts'],
          // Generous: CLI and browser suites spawn processes on a shared 2-core machine.
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'postgres',
          include: ['test/**/*.test.ts'],
          env: { TEST_BACKEND: 'postgres' },
          globalSetup: ['test/helpers/global-setup-postgres.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
