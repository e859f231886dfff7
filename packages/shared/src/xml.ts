/**
 * A minimal, safe XML reader for the documents clockwatch reads (libvirt domain XML). Pure.
 * It accepts what libvirt writes and refuses what it never writes: a DOCTYPE (so no entity can
 * expand), custom entities, input beyond a size, depth or element bound.
 */


export interface XmlElement {
  /** Qualified name as written (`libosinfo:os`). */
  name: string;
  /** Local part (`os`). */
  local: string;
  /** Namespace URI the prefix is bound to in scope, null when none. */
  ns: string | null;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element. */
  text: string;
}

export interface XmlLimits {
  /** Input length in characters; domain XML is a few kB, live status XML some tens of kB. */
  maxChars: number;
  maxDepth: number;
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: Readonly<XmlLimits> = Object.freeze({ maxChars: 1 << 20, maxDepth: 64, maxElements: 20_000 });

export class XmlError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} (at character ${offset})`);
    this.name = 'XmlError';
  }
}

const NAME_RE = /[A-Za-z_][A-Za-z0-9._:-]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,32});?/g, (whole, ref: string) => {
    if (!whole.endsWith(';')) throw new XmlError(`bare '&' (write &amp;)`, at);
    if (ref in PREDEFINED) return PREDEFINED[ref] as string;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (m) {
      const cp = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new XmlError(`invalid character reference &${ref};`, at);
      return String.fromCodePoint(cp);
    }
    throw new XmlError(`unknown entity &${ref};`, at);
  });
}

/** Parses an XML document into its root element; throws XmlError on anything malformed. */
export function parseXml(text: string, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  if (text.length > lim.maxChars) throw new XmlError(`document too large (${text.length} characters, limit ${lim.maxChars})`, 0);
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const stack: { el: XmlElement; scope: Map<string, string> }[] = [];
  let root: XmlElement | null = null;
  let count = 0;

  const readName = (): string => {
    NAME_RE.lastIndex = i;
    const m = NAME_RE.exec(text);
    if (!m) throw new XmlError('expected a name', i);
    i += m[0].length;
    return m[0];
  };
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const until = (end: string, what: string): string => {
    const j = text.indexOf(end, i);
    if (j < 0) throw new XmlError(`unterminated ${what}`, i);
    const s = text.slice(i, j);
    i = j + end.length;
    return s;
  };
  const addText = (s: string, at: number) => {
    const top = stack[stack.length - 1];
    if (top) top.el.text += s;
    else if (s.trim() !== '') throw new XmlError('text outside the root element', at);
  };

  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt !== i) {
      const end = lt < 0 ? text.length : lt;
      addText(decodeEntities(text.slice(i, end), i), i);
      i = end;
      continue;
    }
    if (text.startsWith('<!--', i)) {
      i += 4;
      until('-->', 'comment');
    } else if (text.startsWith('<![CDATA[', i)) {
      const at = i;
      i += 9;
      addText(until(']]>', 'CDATA section'), at);
    } else if (text.startsWith('<!', i)) {
      // libvirt never writes a DOCTYPE; refusing it means no entity can ever be declared or expanded.
      throw new XmlError('DOCTYPE and other declarations are not accepted', i);
    } else if (text.startsWith('<?', i)) {
      i += 2;
      until('?>', 'processing instruction');
    } else if (text.startsWith('</', i)) {
      const at = i;
      i += 2;
      const name = readName();
      skipWs();
      if (text[i] !== '>') throw new XmlError(`malformed end tag </${name}`, at);
      i++;
      const top = stack.pop();
      if (!top || top.el.name !== name) throw new XmlError(`end tag </${name}> does not match <${top?.el.name ?? 'nothing'}>`, at);
    } else {
      const at = i;
      i++;
      const name = readName();
      const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
      let selfClosing = false;
      for (;;) {
        const before = i;
        skipWs();
        if (text.startsWith('/>', i)) {
          i += 2;
          selfClosing = true;
          break;
        }
        if (text[i] === '>') {
          i++;
          break;
        }
        if (i === before) throw new XmlError(`malformed tag <${name}`, at);
        const an = readName();
        skipWs();
        if (text[i] !== '=') throw new XmlError(`attribute ${an} has no value`, i);
        i++;
        skipWs();
        const q = text[i];
        if (q !== '"' && q !== "'") throw new XmlError(`attribute ${an} value must be quoted`, i);
        i++;
        const raw = until(q, `attribute ${an}`);
        if (raw.includes('<')) throw new XmlError(`'<' in the value of attribute ${an}`, i);
        if (an in attrs) throw new XmlError(`duplicate attribute ${an}`, i);
        if (Object.keys(attrs).length >= 64) throw new XmlError(`too many attributes on <${name}>`, i);
        attrs[an] = decodeEntities(raw, i).replace(/[\t\n\r]/g, ' ');
      }
      if (++count > lim.maxElements) throw new XmlError(`more than ${lim.maxElements} elements`, at);
      if (stack.length >= lim.maxDepth) throw new XmlError(`nesting deeper than ${lim.maxDepth}`, at);
      const parent = stack[stack.length - 1];
      const scope = new Map(parent?.scope);
      for (const [k, v] of Object.entries(attrs)) {
        if (k === 'xmlns') scope.set('', v);
        else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
      }
      const colon = name.indexOf(':');
      const prefix = colon < 0 ? '' : name.slice(0, colon);
      const el: XmlElement = { name, local: colon < 0 ? name : name.slice(colon + 1), ns: scope.get(prefix) ?? null, attrs, children: [], text: '' };
      if (parent) parent.el.children.push(el);
      else if (root) throw new XmlError('more than one root element', at);
      else root = el;
      if (!selfClosing) stack.push({ el, scope });
    }
  }
  if (stack.length > 0) throw new XmlError(`unclosed element <${(stack[stack.length - 1] as { el: XmlElement }).el.name}>`, text.length);
  if (!root) throw new XmlError('no root element', 0);
  return root;
}
