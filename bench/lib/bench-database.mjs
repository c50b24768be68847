// Fresh databases for every benchmark run: one template per server is migrated once (Sluice's
// schema and graphile-worker's), and each run gets its own clone (CREATE DATABASE ... TEMPLATE,
// a file copy), dropped when the run ends. A clone has no statistics: nothing here runs ANALYZE.
import pg from 'pg';

const PREFIX = 'sluice_bench_';

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

export class DatabaseFactory {
  constructor(adminUrl) {
    this.adminUrl = adminUrl;
    this.prefix = `${PREFIX}${process.pid}_`;
    this.template = `${this.prefix}tpl`;
    this.live = new Set();
    this.seq = 0;
  }

  urlOf(name) {
    const u = new URL(this.adminUrl);
    u.pathname = `/${name}`;
    return u.toString();
  }

  async admin(fn) {
    const c = new pg.Client({ connectionString: this.adminUrl });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  /** Drops what crashed earlier runs left behind, then builds the template with `prepare(url)`. */
  async init(prepare) {
    await this.admin(async (c) => {
      const r = await c.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
      for (const { datname } of r.rows) {
        const pid = Number(datname.slice(PREFIX.length).split('_')[0]);
        if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid))
          await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      }
      await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(this.template)} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${pg.escapeIdentifier(this.template)}`);
    });
    this.live.add(this.template);
    await prepare(this.urlOf(this.template));
  }

  /** A new database cloned from the template (or from `template`); `drop()` removes it. */
  async fresh(label, template = this.template) {
    const name = `${this.prefix}${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${++this.seq}`.slice(0, 63);
    await this.admin((c) =>
      c.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`),
    );
    this.live.add(name);
    return { name, url: this.urlOf(name), drop: () => this.drop(name) };
  }

  /**
   * A template of its own for a benchmark's runs: a fresh database set up once by
   * `prepare(url)` (which must close its connections), then cloned by each run, so that every
   * run starts from the same state without paying for the set-up again.
   */
  async derivedTemplate(label, prepare) {
    const db = await this.fresh(`${label}_tpl`);
    const value = await prepare(db.url);
    return { ...db, value, clone: (runLabel = label) => this.fresh(runLabel, db.name) };
  }

  async drop(name) {
    if (!this.live.has(name)) return;
    this.live.delete(name);
    await this.admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
  }

  async dropAll() {
    for (const name of [...this.live]) await this.drop(name).catch(() => {});
  }
}

/** Runs fn with a fresh database (from `template`, a derivedTemplate, if given), dropped afterwards. */
export async function withFreshDatabase(factory, label, fn, template) {
  const db = template ? await template.clone(label) : await factory.fresh(label);
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}
