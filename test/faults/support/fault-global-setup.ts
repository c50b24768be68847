import type { TestProject } from 'vitest/node';
import { PgServer } from './pg-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** port of the fault suite's own server (the same server pgAdminUrl names) */
    faultPgPort: number;
  }
}

/**
 * The fault suite's global setup: its own PostgreSQL server (so nothing else shares it), a
 * migrated template database, and the same provided values as test/support/global-setup.ts so
 * that useTestDatabase clones per-file databases from it.
 */
export default async function setup(project: TestProject) {
  const server = await PgServer.create({ maxConnections: 200 });
  const template = `sluice_test_template_${process.pid}_db`;
  await server.createMigratedDatabase(template);
  project.provide('pgAdminUrl', server.url());
  project.provide('pgTemplateDb', template);
  project.provide('pgRunId', String(process.pid));
  project.provide('faultPgPort', server.port);
  return async () => {
    await server.destroy();
  };
}
