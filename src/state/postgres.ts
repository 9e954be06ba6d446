import pg from 'pg';

/**
 * A PostgreSQL pool whose sessions look in `schema` first, so tests and deployments can keep
 * Lightport's tables apart (the schema's owner creates it). Pool errors are reported, never thrown.
 */
export function postgresPool(url: string, schema: string, onError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}`, connectionTimeoutMillis: 5000 });
  pool.on('error', onError);
  return pool;
}
