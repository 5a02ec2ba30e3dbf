/**
 * A small promise wrapper over one sqlite3 connection. Statements on a connection are
 * serialized through a lock so that a transaction's statements never interleave with
 * unrelated ones issued meanwhile by other async callers.
 */
import sqlite3 from 'sqlite3';

export type SqlValue = string | number | null;

export interface RunResult {
  changes: number;
  lastID: number;
}

/** The statement surface shared by the connection and an open transaction. */
export interface Sql {
  run(sql: string, params?: SqlValue[]): Promise<RunResult>;
  get<T>(sql: string, params?: SqlValue[]): Promise<T | undefined>;
  all<T>(sql: string, params?: SqlValue[]): Promise<T[]>;
}

export class Db implements Sql {
  private lock: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly raw: sqlite3.Database,
    readonly file: string,
  ) {}

  static async open(file: string): Promise<Db> {
    const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
      const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
    });
    const db = new Db(raw, file);
    // Several processes (server, workers, CLI) share the file: WAL lets readers run beside
    // one writer, and busy_timeout makes a writer wait instead of failing with SQLITE_BUSY.
    await db.exec('PRAGMA busy_timeout = 15000');
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec('PRAGMA synchronous = FULL');
    await db.exec('PRAGMA foreign_keys = ON');
    return db;
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  run(sql: string, params: SqlValue[] = []): Promise<RunResult> {
    return this.locked(() => rawRun(this.raw, sql, params));
  }

  get<T>(sql: string, params: SqlValue[] = []): Promise<T | undefined> {
    return this.locked(() => rawGet<T>(this.raw, sql, params));
  }

  all<T>(sql: string, params: SqlValue[] = []): Promise<T[]> {
    return this.locked(() => rawAll<T>(this.raw, sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.locked(() => rawExec(this.raw, sql));
  }

  /**
   * Runs fn inside BEGIN IMMEDIATE .. COMMIT (rolled back on any throw). IMMEDIATE takes the
   * write lock up front, so two processes never deadlock upgrading read locks.
   */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      await rawExec(this.raw, 'BEGIN IMMEDIATE');
      const tx: Sql = {
        run: (sql, params = []) => rawRun(this.raw, sql, params),
        get: <R>(sql: string, params: SqlValue[] = []) => rawGet<R>(this.raw, sql, params),
        all: <R>(sql: string, params: SqlValue[] = []) => rawAll<R>(this.raw, sql, params),
      };
      try {
        const out = await fn(tx);
        await rawExec(this.raw, 'COMMIT');
        return out;
      } catch (err) {
        await rawExec(this.raw, 'ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  close(): Promise<void> {
    return this.locked(() => new Promise<void>((resolve, reject) => this.raw.close((err) => (err ? reject(err) : resolve()))));
  }
}

function rawRun(raw: sqlite3.Database, sql: string, params: SqlValue[]): Promise<RunResult> {
  return new Promise((resolve, reject) =>
    raw.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
      if (err) reject(err);
      else resolve({ changes: this.changes, lastID: this.lastID });
    }),
  );
}

function rawGet<T>(raw: sqlite3.Database, sql: string, params: SqlValue[]): Promise<T | undefined> {
  return new Promise((resolve, reject) => raw.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined))));
}

function rawAll<T>(raw: sqlite3.Database, sql: string, params: SqlValue[]): Promise<T[]> {
  return new Promise((resolve, reject) => raw.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
}

function rawExec(raw: sqlite3.Database, sql: string): Promise<void> {
  return new Promise((resolve, reject) => raw.exec(sql, (err) => (err ? reject(err) : resolve())));
}
