import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of @fastify/swagger-ui's static files. The plugin finds them by its own
 * __dirname, which a bundle does not have: in the bundled CLI the package is resolved from
 * packages/server, found by walking up from this module (as core finds db/migrations).
 */
export function swaggerUiStaticDir(): string {
  const bases = [fileURLToPath(import.meta.url)];
  let dir = path.dirname(bases[0] as string);
  for (;;) {
    const candidate = path.join(dir, 'packages', 'server', 'package.json');
    if (existsSync(candidate)) bases.push(candidate);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const base of bases) {
    try {
      const main = createRequire(base).resolve('@fastify/swagger-ui');
      const staticDir = path.join(path.dirname(main), 'static');
      if (existsSync(path.join(staticDir, 'index.html'))) return staticDir;
    } catch {
      // not resolvable from there: the next base
    }
  }
  throw new Error('internal: @fastify/swagger-ui is not installed beside the sluice server');
}

export function swaggerUiLogo(staticDir: string): { type: string; content: Buffer } {
  return { type: 'image/svg+xml', content: readFileSync(path.join(staticDir, 'logo.svg')) };
}
