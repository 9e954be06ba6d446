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

const statements = new Map<string, StatementSync>();
function prepared(db: DatabaseSync, sql: string): StatementSync {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    statements.set(sql, statement);
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
      const statement = prepared(db, request.sql);
      db.exec('BEGIN');
      try {
        for (const row of decodeRows(request.rows) as SQLInputValue[][]) statement.run(...row);
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
