/**
 * Schema migrations, in code. PRAGMA user_version records how many have run; each runs in
 * its own transaction, so a crash mid-migration leaves the previous version intact.
 * Append new migrations at the end; never edit one that has shipped.
 */
import type { Db } from './db.js';
import { ZOO_MIGRATION } from './zoos.js';

const MIGRATIONS: string[] = [
  `
  CREATE TABLE models (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    summary_json TEXT NOT NULL,
    created_at   TEXT NOT NULL
  );
  CREATE TABLE datasets (
    id           TEXT PRIMARY KEY,
    sha256       TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    format       TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    summary_json TEXT NOT NULL,
    created_at   TEXT NOT NULL
  );
  -- The results cache: one row per content key (see storage/cacheKey.ts).
  CREATE TABLE results (
    cache_key        TEXT PRIMARY KEY,
    model_sha256     TEXT NOT NULL,
    dataset_sha256   TEXT,
    analyzer         TEXT NOT NULL,
    analyzer_version INTEGER NOT NULL,
    params_json      TEXT NOT NULL,
    result_json      TEXT NOT NULL,
    duration_ms      INTEGER NOT NULL,
    created_at       TEXT NOT NULL
  );
  -- Every analysis request. Rows with cached = 0 are jobs of the persisted queue.
  CREATE TABLE analyses (
    id               TEXT PRIMARY KEY,
    model_id         TEXT NOT NULL REFERENCES models(id),
    dataset_id       TEXT REFERENCES datasets(id),
    analyzer         TEXT NOT NULL,
    analyzer_version INTEGER NOT NULL,
    params_json      TEXT NOT NULL,
    cache_key        TEXT NOT NULL,
    status           TEXT NOT NULL,
    progress         REAL NOT NULL DEFAULT 0,
    message          TEXT,
    cached           INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    error_code       TEXT,
    error_message    TEXT,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    duration_ms      INTEGER
  );
  CREATE INDEX analyses_by_status ON analyses(status, created_at);
  CREATE INDEX analyses_by_model ON analyses(model_id, created_at);
  CREATE INDEX analyses_by_key ON analyses(cache_key, status);
  `,
  `
  -- Files an analyzer produced (PNG, SVG, npz), stored as blobs, filed with their result.
  CREATE TABLE artifacts (
    cache_key  TEXT NOT NULL,
    name       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    mime_type  TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (cache_key, name)
  );
  `,
  ZOO_MIGRATION,
  `
  -- A dataset is a file plus its preprocessing: sha256 is then the identity (datasets/preprocessing.ts
  -- datasetIdentity) and blob_sha256 the file's hash (NULL: the same as sha256).
  ALTER TABLE datasets ADD COLUMN blob_sha256 TEXT;
  ALTER TABLE datasets ADD COLUMN preprocessing_json TEXT;
  `,
];

/** The schema version a fully migrated database has (PRAGMA user_version). */
export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(db: Db): Promise<void> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const current = row?.user_version ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this build (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    await db.transaction(async (tx) => {
      // Re-check inside the write lock: another process may have migrated meanwhile.
      const now = (await tx.get<{ user_version: number }>('PRAGMA user_version'))?.user_version ?? 0;
      if (now > v) return;
      for (const stmt of splitStatements(MIGRATIONS[v])) await tx.run(stmt);
      await tx.run(`PRAGMA user_version = ${v + 1}`);
    });
  }
}

/** Statements of a migration: comments dropped first (they may contain ';'), then split on ';'. */
function splitStatements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
