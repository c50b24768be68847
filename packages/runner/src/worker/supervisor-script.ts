// Where the Perl job supervisor lives: beside the bundled CLI (scripts/bundle-cli.mjs copies it
// there), or in packages/runner/supervisor of a checkout (from src/worker and dist/worker alike).
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUPERVISOR_SCRIPT = 'sluice-job-supervisor.pl';

/** The places looked at, in order, for a module at `fromUrl`. */
export function supervisorScriptCandidates(fromUrl: string | URL = import.meta.url): string[] {
  const here = path.dirname(fileURLToPath(fromUrl));
  const out = [path.join(here, SUPERVISOR_SCRIPT), path.resolve(here, '../../supervisor', SUPERVISOR_SCRIPT)];
  for (let dir = here; ; dir = path.dirname(dir)) {
    out.push(path.join(dir, 'packages', 'runner', 'supervisor', SUPERVISOR_SCRIPT));
    if (path.dirname(dir) === dir) break;
  }
  return [...new Set(out)];
}

export async function locateSupervisorScript(fromUrl: string | URL = import.meta.url): Promise<string> {
  const candidates = supervisorScriptCandidates(fromUrl);
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.R_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    `cannot find the job supervisor script ${SUPERVISOR_SCRIPT}: not beside ${path.dirname(fileURLToPath(fromUrl))} ` +
      'nor in packages/runner/supervisor above it (a bundled CLI needs it copied next to the bundle)',
  );
}
