/**
 * `reg query <key>` output, parsed. reg.exe prints the key path on its own line, then one line per
 * value: four spaces, the value name, four spaces, the type, four spaces, the data. Names and types
 * are not localised (they are registry identifiers), which is why the agent prefers the registry to
 * localised tool output wherever the registry holds the fact (domain.md §8, §11.9).
 * Data formats (reg.exe): REG_DWORD and REG_QWORD as `0x` + hex (unsigned), REG_SZ and
 * REG_EXPAND_SZ as text, REG_MULTI_SZ joined by `\0`, REG_BINARY as hex pairs.
 * A missing key or value makes reg.exe exit 1 with "ERROR: The system was unable to find the
 * specified registry key or value." on stderr (that text is localised; the exit code is not).
 */

export interface RegValue {
  name: string;
  type: string;
  /** The data as printed. */
  raw: string;
}

export interface RegKey {
  path: string;
  values: Map<string, RegValue>;
}

const VALUE_LINE = /^\s{2,}(.*?)\s{4}(REG_[A-Z_0-9]+)(?:\s{4}(.*))?$/;

/** Every key block of `reg query` output (one key, or several with /s), in order. */
export function parseRegQuery(text: string): RegKey[] {
  const keys: RegKey[] = [];
  let current: RegKey | null = null;
  for (const rawLine of text.replace(/\r/g, '').split('\n')) {
    if (rawLine.trim() === '') continue;
    if (/^HKEY_[A-Z_]+(\\|$)|^HK(LM|CU|CR|U|CC)(\\|$)/.test(rawLine)) {
      current = { path: rawLine.trim(), values: new Map() };
      keys.push(current);
      continue;
    }
    const m = VALUE_LINE.exec(rawLine);
    if (m && current) {
      // "(Default)" is the key's unnamed value; its label is localised, so it is kept as printed.
      current.values.set(m[1]!.toLowerCase(), { name: m[1]!, type: m[2]!, raw: (m[3] ?? '').trim() });
    }
  }
  return keys;
}

/** REG_DWORD/REG_QWORD data as an unsigned number; null for other types or unparsable data. */
export function regNumber(v: RegValue | undefined): number | null {
  if (!v || (v.type !== 'REG_DWORD' && v.type !== 'REG_QWORD')) return null;
  const m = /^0x([0-9a-f]{1,16})$/i.exec(v.raw);
  if (!m) return null;
  const n = BigInt(`0x${m[1]}`);
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : null;
}

/** A REG_DWORD read as a signed 32-bit integer (Bias: 0xfffffe20 = −480 minutes). */
export function regInt32(v: RegValue | undefined): number | null {
  const n = v?.type === 'REG_DWORD' ? regNumber(v) : null;
  return n === null ? null : n | 0;
}

/** REG_SZ / REG_EXPAND_SZ text; null for other types. */
export function regString(v: RegValue | undefined): string | null {
  return v && (v.type === 'REG_SZ' || v.type === 'REG_EXPAND_SZ') ? v.raw : null;
}

export function regGet(key: RegKey | undefined, name: string): RegValue | undefined {
  return key?.values.get(name.toLowerCase());
}
