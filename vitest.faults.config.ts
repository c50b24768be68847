import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The fault suite (test/faults): real worker processes, a proxy that partitions them from
// PostgreSQL, a server of its own that tests restart. Run with `pnpm test:faults`.
export default mergeConfig(
  { ...base, test: { ...base.test, include: [], exclude: [], globalSetup: [] } },
  defineConfig({
    test: {
      include: ['test/faults/**/*.test.ts'],
      globalSetup: ['test/faults/support/fault-global-setup.ts'],
      // Two shared cores, and every test runs several worker processes of its own.
      maxWorkers: 2,
      testTimeout: 300_000,
      hookTimeout: 300_000,
    },
  }),
);
