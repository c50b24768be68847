#!/usr/bin/env node
import { isSluiceError, SluiceError, toSluiceError } from '@sluice/core';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { registerConfigCommand } from './config-command.js';
import { registerDbCommands } from './db-commands.js';
import { registerEventsCommand } from './events-command.js';
import { registerJobsCommands } from './jobs-commands.js';
import { registerReportsCommands } from './reports-commands.js';
import { registerResultsCommands } from './results-commands.js';
import { registerRunCommand } from './run-command.js';
import { registerServerCommand } from './server-command.js';
import { registerSlurmCommands } from './slurm-commands.js';
import { registerSubmitCommand } from './submit-command.js';
import { registerWorkerCommand } from './worker-command.js';
import { registerWorkflowsCommands } from './workflows-commands.js';

const program = new Command('sluice')
  .description('Sluice: PostgreSQL-native workflow engine for HPC sites')
  .option(
    '--database-url <url>',
    'PostgreSQL URL (default: $SLUICE_DATABASE_URL, then ~/.config/sluice/config.toml, then the site config, else the embedded server; sluice config shows which)',
  )
  .option('--debug', 'show stack traces and debug logs')
  .showHelpAfterError()
  .exitOverride();

registerAdminCommands(program);
registerConfigCommand(program);
registerDbCommands(program);
registerRunCommand(program);
registerServerCommand(program);
registerSlurmCommands(program);
registerSubmitCommand(program);
registerWorkerCommand(program);
registerWorkflowsCommands(program);
registerJobsCommands(program);
registerResultsCommands(program);
registerReportsCommands(program);
registerEventsCommand(program);
for (const c of program.commands) {
  c.exitOverride();
  for (const sub of c.commands) sub.exitOverride();
}

const debug = process.argv.includes('--debug');

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Commander has already printed its message.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    const err = toSluiceError(e);
    if (isSluiceError(err)) {
      process.stderr.write(`sluice: ${err.message}\n`);
      if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = err.exitCode;
    } else {
      const msg = err instanceof Error ? err.message : String(err);
      process.stderr.write(`sluice: internal error: ${msg}\n`);
      if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      else process.stderr.write('(run with --debug for details)\n');
      process.exitCode = new SluiceError('SLUICE_INTERNAL').exitCode;
    }
  }
}
