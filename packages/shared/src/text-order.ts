/**
 * Text order of the stores, in JavaScript: code point order, which is the byte order of UTF-8
 * (SQLite's BINARY collation is memcmp of the stored UTF-8, https://www.sqlite.org/datatype3.html#collating_sequences;
 * PostgreSQL's COLLATE "C" on a UTF-8 database likewise). It differs from JavaScript's UTF-16 code
 * unit order (`<`) when a character above U+FFFF (a surrogate pair, 0xD800–0xDFFF) meets one in
 * U+E000–U+FFFF. A lone surrogate ranks by its code unit, as better-sqlite3 stores it: the three
 * bytes of its own value (ED A0 80 … ED BF BF, as WTF-8 does).
 */

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;

/**
 * SQLite's BINARY order of two strings as better-sqlite3 stores them: UTF-8, a lone surrogate as
 * the three bytes of its own value (ED A0 80 … ED BF BF, "WTF-8"): code point order, a lone
 * surrogate ranked by its code unit.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  for (; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    break;
  }
  if (i === n) return a.length - b.length;
  // A surrogate at the first difference: compare code points from the start of the character.
  if (i > 0 && isHigh(a.charCodeAt(i - 1))) i--;
  let j = i;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(j) as number;
    if (x !== y) return x - y;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}
