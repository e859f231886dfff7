/**
 * The reportId as the SQLite samples table keeps it (schema 6): the report schema allows any
 * `[A-Za-z0-9_-]{8,64}` (shared/src/schema/report.ts), and the agent sends 32 lowercase hex digits
 * (a UUID without dashes, agent/src/collect.ts newReportId). A hex or UUID id is stored as its 16
 * bytes, with a leading form byte unless it is the agent's form:
 *   16 bytes            32 lowercase hex digits
 *   0x01 + 16 bytes     32 uppercase hex digits
 *   0x02 + 16 bytes     a dashed UUID (8-4-4-4-12), lowercase
 *   0x03 + 16 bytes     a dashed UUID, uppercase
 * anything else (mixed case, other lengths or characters) as its TEXT. Every id has exactly one
 * encoding and every encoding one id, so comparing encodings compares ids, and the id reads back
 * byte for byte (an all-digit id is both lower and upper case: it takes the first form, which
 * gives it back unchanged). The rule is written three times — here for inserts and lookups, in
 * SQL for the migration that converts stored rows, in SQL for the virtual column `report_id`
 * that reads them back — and test/store/report-id.test.ts holds the three to one another.
 */
import { hash } from 'node:crypto';

const LOWER_HEX = /^[0-9a-f]{32}$/;
const UPPER_HEX = /^[0-9A-F]{32}$/;
const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const UPPER_UUID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

export function encodeReportId(id: string): Buffer | string {
  if (LOWER_HEX.test(id)) return Buffer.from(id, 'hex');
  if (UPPER_HEX.test(id)) return Buffer.from(`01${id}`, 'hex');
  if (LOWER_UUID.test(id)) return Buffer.from(`02${id.replace(/-/g, '')}`, 'hex');
  if (UPPER_UUID.test(id)) return Buffer.from(`03${id.replace(/-/g, '')}`, 'hex');
  return id;
}

/** The 32-bit hash idempotency looks up first: the first 4 bytes of the id's SHA-256, signed (the top half of schema 5's 64-bit rid_hash, which migration 6 keeps as rid_h). */
export function reportIdHash32(id: string): number {
  // One-shot crypto.hash: the same bytes as createHash().update().digest(), ~0.5 µs less a report.
  return hash('sha256', id, 'buffer').readInt32BE(0);
}

const H = '[0-9a-f]';
const U = '[0-9A-F]';
const dashed = (c: string) => [8, 4, 4, 4, 12].map((n) => c.repeat(n)).join('-');

/** encodeReportId in SQL, of the column `report_id` (TEXT), for the migration. GLOB is case-sensitive. */
export const ENCODE_REPORT_ID_SQL = `CASE
      WHEN report_id GLOB '${H.repeat(32)}' THEN unhex(report_id)
      WHEN report_id GLOB '${U.repeat(32)}' THEN unhex('01' || report_id)
      WHEN report_id GLOB '${dashed(H)}' THEN unhex('02' || replace(report_id, '-', ''))
      WHEN report_id GLOB '${dashed(U)}' THEN unhex('03' || replace(report_id, '-', ''))
      ELSE report_id END`;

/** The hex digits of the 16 bytes after the form byte, in SQL. */
const TAIL = 'hex(substr(rid, 2))';
const DASHED_SQL = `substr(${TAIL}, 1, 8) || '-' || substr(${TAIL}, 9, 4) || '-' || substr(${TAIL}, 13, 4) || '-' || substr(${TAIL}, 17, 4) || '-' || substr(${TAIL}, 21)`;

/** The id back from the column `rid`, in SQL (the virtual column `report_id`). */
export const DECODE_REPORT_ID_SQL = `CASE
      WHEN typeof(rid) <> 'blob' THEN rid
      WHEN length(rid) = 16 THEN lower(hex(rid))
      WHEN substr(rid, 1, 1) = x'01' THEN ${TAIL}
      WHEN substr(rid, 1, 1) = x'02' THEN lower(${DASHED_SQL})
      WHEN substr(rid, 1, 1) = x'03' THEN ${DASHED_SQL} END`;
