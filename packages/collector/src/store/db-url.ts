/**
 * What `--db` names, decided from its text alone, so that choosing the store does not load the
 * PostgreSQL client (about 50 ms at start) for a SQLite file.
 */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL without its password, for logs and error lines. */
export function redactDbUrl(db: string): string {
  if (!isPostgresUrl(db)) return db;
  try {
    const u = new URL(db);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://…';
  }
}
