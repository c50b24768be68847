import path from 'node:path';
import type { SupervisedJobSpec } from '@sluice/runner';

/**
 * Makes start requests for a JobSupervisor under test: each job gets its own two log files in
 * the directory `dir()` names (read at each call: test files set it in beforeAll).
 */
export function supervisedJobs(dir: () => string) {
  let n = 0;
  return (command: string, over: Partial<SupervisedJobSpec> = {}): SupervisedJobSpec => {
    const name = `j${++n}`;
    return {
      command,
      invocationScript: null,
      cwd: dir(),
      env: process.env,
      stdoutPath: path.join(dir(), `${name}.o`),
      stderrPath: path.join(dir(), `${name}.e`),
      ...over,
    };
  };
}
