/**
 * The text of each report as it came in, so that the ingest path hashes and stores the bytes the
 * request already has instead of serialising every parsed report again (RFC 8259 grammar: outside
 * strings, whitespace is insignificant and `,` separates the values of an array).
 *
 * A body that is one object gives its text; an array gives the text of each element. Whitespace
 * outside strings is removed, so a resend of the same report is the same text however it is
 * indented — which is what a V8 JSON.stringify of the parsed value gives for a body that an agent
 * wrote with JSON.stringify (the shape of every clockwatch agent's body).
 *
 * Only called on a body that JSON.parse accepted: the scanner trusts the grammar and returns null
 * when the text does not have the shape it expects (the caller then serialises the parsed value).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index just past the string that opens at `i` (raw[i] is a quote): one indexOf per string, not a step per character. */
function skipString(raw: string, i: number): number {
  let j = raw.indexOf('"', i + 1);
  for (;;) {
    if (j < 0) return raw.length;
    // An escaped quote has an odd run of backslashes before it.
    let k = j - 1;
    while (raw.charCodeAt(k) === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j + 1;
    j = raw.indexOf('"', j + 1);
  }
}

/**
 * Texts of the reports of a body: [text] for an object, one per element for an array; null when
 * the body is neither or `expected` elements were not found. One pass over the structure (strings
 * are jumped over); an element is compacted only when whitespace was seen outside its strings.
 */
export function reportTexts(raw: string, expected: number): string[] | null {
  let start = 0;
  let end = raw.length;
  while (start < end && isSpace(raw.charCodeAt(start))) start++;
  while (end > start && isSpace(raw.charCodeAt(end - 1))) end--;
  const first = raw.charCodeAt(start);
  const isArray = first === OPEN_BRACKET;
  if (!isArray && first !== OPEN_BRACE) return null;
  if (isArray && raw.charCodeAt(end - 1) !== CLOSE_BRACKET) return null;
  if (!isArray && expected !== 1) return null;
  const out: string[] = [];
  let depth = 0;
  let spaced = false;
  const from0 = isArray ? start + 1 : start;
  const to0 = isArray ? end - 1 : end;
  let from = from0;
  const push = (a: number, b: number) => {
    while (a < b && isSpace(raw.charCodeAt(a))) a++;
    while (b > a && isSpace(raw.charCodeAt(b - 1))) b--;
    out.push(spaced ? compact(raw, a, b) : raw.slice(a, b));
    spaced = false;
  };
  for (let i = from0; i < to0; ) {
    const c = raw.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(raw, i);
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA && depth === 0 && isArray) {
      push(from, i);
      from = i + 1;
    } else if (isSpace(c)) spaced = true;
    i++;
  }
  if (out.length > 0 || from < to0) push(from, to0);
  if (out.length === 1 && out[0] === '' && isArray) out.pop();
  return out.length === expected ? out : null;
}

/** raw[from, to) without the whitespace outside strings. */
function compact(raw: string, from: number, to: number): string {
  const parts: string[] = [];
  let runStart = from;
  for (let i = from; i < to; ) {
    const c = raw.charCodeAt(i);
    if (c === QUOTE) {
      i = skipString(raw, i);
      continue;
    }
    if (isSpace(c)) {
      parts.push(raw.slice(runStart, i));
      while (i < to && isSpace(raw.charCodeAt(i))) i++;
      runStart = i;
      continue;
    }
    i++;
  }
  parts.push(raw.slice(runStart, to));
  return parts.join('');
}
