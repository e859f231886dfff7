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

/**
 * Texts of the reports of a body: [text] for an object, one per element for an array; null when
 * the body is neither or `expected` elements were not found.
 */
export function reportTexts(raw: string, expected: number): string[] | null {
  let start = 0;
  let end = raw.length;
  while (start < end && isSpace(raw.charCodeAt(start))) start++;
  while (end > start && isSpace(raw.charCodeAt(end - 1))) end--;
  const first = raw.charCodeAt(start);
  if (first === OPEN_BRACE) {
    if (expected !== 1) return null;
    return [compact(raw, start, end)];
  }
  if (first !== OPEN_BRACKET || raw.charCodeAt(end - 1) !== CLOSE_BRACKET) return null;
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let from = start + 1;
  for (let i = start + 1; i < end - 1; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    else if (c === COMMA && depth === 0) {
      out.push(trimmedCompact(raw, from, i));
      from = i + 1;
    }
  }
  const last = trimmedCompact(raw, from, end - 1);
  if (last.length > 0 || out.length > 0) out.push(last);
  return out.length === expected ? out : null;
}

function trimmedCompact(raw: string, from: number, to: number): string {
  while (from < to && isSpace(raw.charCodeAt(from))) from++;
  while (to > from && isSpace(raw.charCodeAt(to - 1))) to--;
  return compact(raw, from, to);
}

/** raw[from, to) without the whitespace outside strings (a plain slice when there is none: the common case). */
function compact(raw: string, from: number, to: number): string {
  let parts: string[] | null = null;
  let runStart = from;
  let inString = false;
  for (let i = from; i < to; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (isSpace(c)) {
      (parts ??= []).push(raw.slice(runStart, i));
      while (i + 1 < to && isSpace(raw.charCodeAt(i + 1))) i++;
      runStart = i + 1;
    }
  }
  if (parts === null) return raw.slice(from, to);
  parts.push(raw.slice(runStart, to));
  return parts.join('');
}
