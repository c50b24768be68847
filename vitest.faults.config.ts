import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The fault suite (test/faults): real worker processes, a proxy that partitions them from
// PostgreSQL, a server of its own that tests restart. Run with `pnpm test:faults`.
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
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/faults/support/fault-global-setup.ts'],
    pool: 'forks',
    // Two shared cores, and every test runs several worker processes of its own.
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
