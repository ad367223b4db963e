import { defineConfig } from 'vitest/config'

const unitDirs = '{lib,schemas,ledger,importer,processor,alerter,ops,bin,infra,bench,web}'

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [`${unitDirs}/**/*.test.ts`],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
          // The suites share one broker and one Postgres on a 2-core machine.
          maxWorkers: 2,
        },
      },
    ],
  },
})
