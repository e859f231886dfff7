/**
 * Worker thread entry that renders an export (render-csv/json/html are pure and synchronous; for
 * 10,000 agents they take about a second, which a served collector must not spend on its event
 * loop: reports and time exchanges would wait).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ExportData } from './model.js';
import { renderCsv } from './render-csv.js';
import { renderHtml } from './render-html.js';
import { renderJson } from './render-json.js';

const { json, files } = workerData as { json: string; files: { format: 'csv' | 'json' | 'html'; name: string }[] };
try {
  const parsed = JSON.parse(json) as { head: ExportData; rows: ExportData['rows'] };
  const data: ExportData = { ...parsed.head, rows: parsed.rows };
  // As UTF-8 bytes whose memory moves to the main thread (transferred, not copied).
  const out = files.map((f) => ({ ...f, content: new Uint8Array(Buffer.from(f.format === 'csv' ? renderCsv(data) : f.format === 'json' ? renderJson(data) : renderHtml(data), 'utf8')) }));
  parentPort?.postMessage({ ok: true, files: out }, out.map((f) => f.content.buffer as ArrayBuffer));
} catch (err) {
  parentPort?.postMessage({ ok: false, message: (err as Error).message });
}
