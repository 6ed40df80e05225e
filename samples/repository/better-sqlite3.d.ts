// The part of better-sqlite3's API these samples use. The package ships no type declarations; with
// @types/better-sqlite3 installed, delete this file.
declare module 'better-sqlite3' {
  class Database {
    /** Opens (creating it unless `fileMustExist`) a database file. `timeout`: ms to wait on a lock (default 5000). */
    constructor(filename: string, options?: Database.Options);
    readonly inTransaction: boolean;
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R>;
    exec(sql: string): this;
    pragma(source: string, options?: { simple?: boolean }): unknown;
    close(): this;
  }

  namespace Database {
    interface Options {
      readonly?: boolean;
      fileMustExist?: boolean;
      timeout?: number;
    }

    interface RunResult {
      changes: number;
      lastInsertRowid: number | bigint;
    }

    interface Statement<P extends unknown[], R> {
      run(...params: P): RunResult;
      get(...params: P): R | undefined;
      all(...params: P): R[];
      iterate(...params: P): IterableIterator<R>;
    }

    /** What better-sqlite3 throws for SQLite failures; `code` is SQLite's, e.g. `SQLITE_BUSY`. */
    class SqliteError extends Error {
      readonly code: string;
    }
  }

  export = Database;
}
