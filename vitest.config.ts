import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@sluice\/core\/spec$/, replacement: src('./packages/core/src/spec/index.ts') },
      { find: /^@sluice\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@sluice\/embedded$/, replacement: src('./packages/embedded/src/index.ts') },
      { find: /^@sluice\/runner$/, replacement: src('./packages/runner/src/index.ts') },
      { find: /^@sluice\/server$/, replacement: src('./packages/server/src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs with its own server and set-up: `pnpm test:faults`.
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Two cores: worker processes in the tests need CPU too.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
