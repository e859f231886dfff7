/**
 * `clockwatch-collector export`: one compliance export straight from the database file (opened
 * read-only: safe next to a running serve, and no server needed).
 *
 *   --format csv|json|html   repeatable or a comma list; default all three
 *   --from T --to T          ms since the epoch or ISO 8601; default the last full UTC day; one of
 *                            them alone means the day after --from / before --to
 *   --out FILE|DIR           one format: a file (default: stdout); several: a directory that gets
 *                            the files and a manifest (default: the current directory)
 *   --detail                 also the full-resolution CSV of every sample (<name>-detail.csv),
 *                            listed in the manifest; needs a directory
 *
 * Files are streamed as they are rendered (a 10,000-agent day never is one string in memory).
 * On a terminal, stderr shows a progress line while the agents are read.
 */
import { statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { DAY_MS, DEFAULT_POLICY, parsePolicyText, type PolicyDocument } from '@clockwatch/shared';
import { Compliance } from '../compliance.js';
import { DEFAULT_DB } from '../config.js';
import { SAFE_FILE_NAME } from '../exports/atomic-write.js';
import { exportBaseName, keyIdOf, loadSigningKey } from '../exports/manifest.js';
import type { ExportPeriod } from '../exports/model.js';
import { lastFullPeriod } from '../exports/scheduler.js';
import { EXPORT_FORMATS, ExportService, type ExportFormat } from '../exports/service.js';
import { writeChunksAtomic, writeExport, type ExportChunks } from '../exports/write-export.js';
import { ConfigError, helpText, nonEmpty, parseOptions, type OptionSpec } from '../options.js';
import { FieldError, instantFromText } from '../instant.js';
import { checkExportPeriod } from '../exports/period.js';
import type { Command, CommandIO } from './types.js';
import { openStoreReadOnly, libvirtAuditFor, LIBVIRT_OPTIONS, readFileOr } from './common.js';


function formats(text: string): ExportFormat[] {
  const out = text.split(',').map((f) => f.trim().toLowerCase()).filter(Boolean);
  const bad = out.find((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (bad !== undefined || out.length === 0) throw new Error(`expected csv, json or html (several: a comma list or the option again), got '${text}'`);
  return out as ExportFormat[];
}

function instant(text: string): number {
  try {
    return instantFromText(text, 'time');
  } catch (err) {
    // parseOptions prefixes the option's name.
    throw new Error(err instanceof FieldError ? err.message.replace(/^time: /, '') : String(err));
  }
}

const OPTIONS: readonly OptionSpec[] = [
  { key: 'db', flag: 'db', arg: 'PATH', help: 'SQLite database file (opened read-only)', default: DEFAULT_DB, parse: nonEmpty },
  { key: 'format', flag: 'format', arg: 'csv|json|html', help: 'formats (repeat the option or give a comma list; default all three)', parse: formats, repeat: true },
  { key: 'from', flag: 'from', arg: 'T', help: 'start of the period: ms since the epoch or ISO 8601 (default: the last full UTC day)', parse: instant },
  { key: 'to', flag: 'to', arg: 'T', help: 'end of the period (exclusive), not in the future', parse: instant },
  { key: 'out', flag: 'out', arg: 'FILE|DIR', help: 'one format: a file (default stdout); several: a directory for the files and a manifest (default .)', parse: nonEmpty },
  { key: 'detail', flag: 'detail', help: 'also write the full-resolution CSV of every sample (<name>-detail.csv, in the manifest); needs a directory for --out', boolean: true, parse: (t) => t !== 'false' },
  { key: 'exportKey', flag: 'export-key', arg: 'FILE', help: 'Ed25519 private key (PEM) that signs the manifest', parse: nonEmpty },
  { key: 'policy', flag: 'policy', arg: 'FILE', help: 'compliance policy (JSON) for the reasons and limits; default built-in', parse: nonEmpty },
  ...LIBVIRT_OPTIONS,
  { key: 'config', flag: 'config', arg: 'FILE', help: 'JSON file with any of these options', parse: nonEmpty },
];

function periodOf(v: Record<string, unknown>, sources: Record<string, string>, nowMs: number): ExportPeriod {
  const from = v.from as number | undefined;
  const to = v.to as number | undefined;
  let p: ExportPeriod;
  if (from === undefined && to === undefined) p = lastFullPeriod(nowMs, DAY_MS);
  else if (to === undefined) p = { fromMs: from as number, toMs: (from as number) + DAY_MS };
  else if (from === undefined) p = { fromMs: to - DAY_MS, toMs: to };
  else p = { fromMs: from, toMs: to };
  try {
    return checkExportPeriod(p, nowMs, { from: sources.from ?? '--from', to: sources.to ?? '--to' });
  } catch (err) {
    if (err instanceof FieldError) throw new ConfigError(err.message);
    throw err;
  }
}

/** '\r' progress line on a terminal: agents read, percent, elapsed. */
function progress(io: CommandIO) {
  if (!io.isTTY?.stderr) return { update: undefined, done: () => undefined };
  const started = performance.now();
  let shown = false;
  let lastAt = 0;
  return {
    update: (done: number, total: number) => {
      const now = performance.now();
      if (done !== total && now - lastAt < 200) return;
      lastAt = now;
      shown = true;
      const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
      io.err(`\rexport: ${done.toLocaleString('en')}/${total.toLocaleString('en')} agents read (${pct} %), ${((now - started) / 1000).toFixed(1)} s\x1b[K`);
    },
    done: () => {
      if (shown) io.err('\r\x1b[K');
    },
  };
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a compliance export (CSV, JSON, HTML) from the database file',
  async run(io) {
    if (io.argv.includes('--help') || io.argv.includes('-h')) {
      io.out(helpText('usage: clockwatch-collector export [--db PATH] [--format csv|json|html] [--from T] [--to T] [--out FILE|DIR]', OPTIONS));
      return 0;
    }
    const { values: v, sources, positionals } = parseOptions(OPTIONS, io.argv, io.env, 'config');
    if (positionals.length > 0) throw new ConfigError(`unexpected argument '${positionals[0]}' (see --help)`);
    const fmts = [...new Set(((v.format as ExportFormat[][] | undefined) ?? [[...EXPORT_FORMATS]]).flat())];
    const nowMs = Date.now();
    const period = periodOf(v, sources, nowMs);

    let policy: PolicyDocument = DEFAULT_POLICY;
    if (v.policy) {
      const text = readFileOr(sources.policy ?? '--policy', v.policy as string).toString('utf8');
      try {
        policy = parsePolicyText(text);
      } catch (err) {
        throw new ConfigError(`${sources.policy}: ${v.policy as string}: ${(err as Error).message}`);
      }
    }
    let key: KeyObject | null = null;
    if (v.exportKey) {
      try {
        key = loadSigningKey(readFileOr(sources.exportKey ?? '--export-key', v.exportKey as string));
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        throw new ConfigError(`${sources.exportKey}: ${(err as Error).message}`);
      }
    }

    // Where the result goes: stdout, one file, or a directory with a manifest.
    const out = v.out as string | undefined;
    let outDir: string | null = null;
    let outFile: string | null = null;
    const isDir = (p: string) => {
      try {
        return statSync(p).isDirectory();
      } catch {
        return false;
      }
    };
    if (fmts.length > 1 || (out !== undefined && (isDir(out) || out.endsWith('/')))) outDir = resolve(out ?? '.');
    else if (out !== undefined) outFile = resolve(out);
    if (outFile && !SAFE_FILE_NAME.test(basename(outFile))) throw new ConfigError(`${sources.out}: '${basename(outFile)}' is not a plain file name`);
    if (key && !outDir) throw new ConfigError(`${sources.exportKey}: a signed manifest needs a directory for --out`);
    const detail = v.detail === true;
    if (detail && !outDir) throw new ConfigError(`${sources.detail ?? '--detail'}: the detail CSV goes next to the other files and the manifest: needs a directory for --out`);

    const store = await openStoreReadOnly(v.db as string, sources.db ?? '--db');
    const libvirt = await libvirtAuditFor(v, io);
    try {
      const compliance = new Compliance(policy, libvirt);
      const service = new ExportService({ store, compliance, libvirt, policySource: (v.policy as string | undefined) ?? 'built-in defaults' });
      const baseName = exportBaseName(period);
      const bar = progress(io);
      const started = performance.now();
      let data;
      try {
        data = await service.buildData(period, nowMs, {
          onProgress: bar.update,
          signerKeyId: key ? keyIdOf(key) : null,
          detailFile: detail ? ExportService.detailName(baseName) : null,
        });
      } finally {
        bar.done();
      }
      const files = service.files(data, fmts, baseName);
      if (detail) files.push(service.detail(data, baseName));
      const took = () => ((performance.now() - started) / 1000).toFixed(1);
      if (outDir) {
        const r = await writeExport({ dir: outDir, period, generatedAtMs: nowMs, files, signingKey: key });
        io.out(`${r.manifestPath}\n`);
        io.err(`export: ${data.rows.length} agents, ${period.fromMs}..${period.toMs}: ${files.map((f) => f.name).join(', ')} and the manifest${key ? ' (signed)' : ''} in ${outDir} (${took()} s)\n`);
      } else if (outFile) {
        await writeChunksAtomic(dirname(outFile), basename(outFile), files[0]!.content as ExportChunks);
        io.err(`export: ${data.rows.length} agents: ${outFile} (${took()} s)\n`);
      } else {
        for await (const chunk of files[0]!.content as AsyncIterable<string>) io.out(chunk);
      }
      return 0;
    } finally {
      await libvirt?.stop();
      await store.close();
    }
  },
};
