// Runs in a worker thread: owns one node:sqlite database so its synchronous disk work
// never blocks the gateway's event loop. Spoken to only by ./sqlite.ts.
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRows } from './encoded-rows.ts';
import type { SqliteReply, SqliteRequest } from './sqlite-protocol.ts';

const { path } = workerData as { path: string };
let database: DatabaseSync | undefined;
let openError: string | undefined;
try {
  database = new DatabaseSync(path);
  database.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
} catch (error) {
  openError = `cannot open SQLite database ${path}: ${(error as Error).message}`;
}

/**
 * Rows per INSERT statement in a batch: one statement per row spends as much in the call into
 * SQLite and its per-statement work as in the row itself. 40 rows of the request log's 23
 * columns stay far below SQLite's limit of 32,766 parameters.
 */
const ROWS_PER_STATEMENT = 40;
const MOST_PARAMETERS = 32_766;

function insertSql(table: string, columns: readonly string[], rows: number): string {
  const row = `(${columns.map(() => '?').join(', ')})`;
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}`;
}

const statements = new Map<string, StatementSync>();
function prepared(db: DatabaseSync, sql: string): StatementSync {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
  }
  return statement;
}

/**
 * The INSERT of `rows` rows, kept by a short key: a batch's statement text is a few kilobytes
 * of placeholders, and building and hashing it again for every batch cost more than binding
 * a few of its rows.
 */
const inserts = new Map<string, StatementSync>();
function preparedInsert(db: DatabaseSync, table: string, columns: readonly string[], rows: number): StatementSync {
  const key = `${table}\u0000${rows}\u0000${columns.join(',')}`;
  let statement = inserts.get(key);
  if (statement === undefined) {
    statement = db.prepare(insertSql(table, columns, rows));
    inserts.set(key, statement);
  }
  return statement;
}

function run(db: DatabaseSync, request: SqliteRequest): unknown {
  switch (request.op) {
    case 'exec':
      db.exec(request.sql);
      return undefined;
    case 'query':
      return prepared(db, request.sql).all(...(request.params as SQLInputValue[]));
    case 'run':
      return Number(prepared(db, request.sql).run(...(request.params as SQLInputValue[])).changes);
    case 'insertMany': {
      const rows = decodeRows(request.rows) as SQLInputValue[][];
      const width = request.columns.length;
      const perStatement = Math.max(1, Math.min(ROWS_PER_STATEMENT, Math.floor(MOST_PARAMETERS / width)));
      const many = preparedInsert(db, request.table, request.columns, perStatement);
      const one = preparedInsert(db, request.table, request.columns, 1);
      db.exec('BEGIN');
      try {
        let at = 0;
        if (rows.length >= perStatement) {
          const values: SQLInputValue[] = Array.from({ length: perStatement * width });
          for (; at + perStatement <= rows.length; at += perStatement) {
            for (let row = 0; row < perStatement; row++) {
              const cells = rows[at + row] as SQLInputValue[];
              for (let column = 0; column < width; column++) values[row * width + column] = cells[column] as SQLInputValue;
            }
            many.run(...values);
          }
        }
        for (; at < rows.length; at++) one.run(...(rows[at] as SQLInputValue[]));
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
      return undefined;
    }
    case 'close':
      db.close();
      database = undefined;
      return undefined;
  }
}

parentPort?.on('message', (request: SqliteRequest) => {
  let reply: SqliteReply;
  if (database === undefined) {
    reply = { id: request.id, ok: false, error: openError ?? 'the SQLite database is closed' };
  } else {
    try {
      reply = { id: request.id, ok: true, result: run(database, request) };
    } catch (error) {
      reply = { id: request.id, ok: false, error: (error as Error).message };
    }
  }
  // oxlint-disable-next-line unicorn/require-post-message-target-origin -- a worker port, not a window
  parentPort?.postMessage(reply);
});
