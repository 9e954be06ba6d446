import type { SqlDatabase, SqlDialect } from './sql.ts';

export interface Migration {
  readonly id: number;
  readonly name: string;
  /** The statements, per dialect. */
  readonly sql: Readonly<Record<SqlDialect, string>>;
}

/**
 * Applies, in order, the migrations of one component (e.g. "request_log") that this
 * database has not seen, recording each in `lightport_migrations`. Safe to run on every
 * start and from several replicas: statements are idempotent and records never clash.
 */
export async function migrate(db: SqlDatabase, component: string, migrations: readonly Migration[]): Promise<void> {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS lightport_migrations (component TEXT NOT NULL, id INTEGER NOT NULL, name TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (component, id))',
  );
  const applied = await db.query<{ id: number | string }>('SELECT id FROM lightport_migrations WHERE component = ?', [component]);
  const done = new Set(applied.map((row) => Number(row.id)));
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    await db.exec(migration.sql[db.dialect]);
    await db.run(
      'INSERT INTO lightport_migrations (component, id, name, applied_at) VALUES (?, ?, ?, ?) ON CONFLICT (component, id) DO NOTHING',
      [component, migration.id, migration.name, Date.now()],
    );
  }
}
