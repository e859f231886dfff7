/**
 * The order SQLite gives stored text, in JavaScript. `ORDER BY x` on TEXT with the BINARY
 * collation is memcmp of the stored UTF-8 bytes (https://www.sqlite.org/datatype3.html#collating_sequences).
 * UTF-8 byte order is code point order, which differs from JavaScript's UTF-16 code unit order
 * (`<`) when a character above U+FFFF (a surrogate pair, 0xD800–0xDFFF) meets one in
 * U+E000–U+FFFF. better-sqlite3 stores a lone surrogate as the three bytes of its own value
 * (ED A0 80 … ED BF BF, as WTF-8 does), and reads those back as U+FFFD per byte.
 */

export { compareUtf8 } from '@clockwatch/shared';

/**
 * A stored text as written (bytes from CAST(x AS BLOB)): a lone surrogate's three bytes give the
 * surrogate back, where reading the TEXT gives U+FFFD per byte (and so another order).
 */
export function wtf8Text(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    const n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (n === 0 || i + n > b.length) {
      out += '\ufffd';
      i++;
      continue;
    }
    let cp = n === 1 ? c : c & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | ((b[i + k] as number) & 0x3f);
    out += String.fromCodePoint(cp);
    i += n;
  }
  return out;
}
