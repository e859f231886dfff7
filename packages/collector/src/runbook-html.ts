/**
 * A runbook's markdown as a minimal HTML page, for a browser that follows a runbook link (an
 * alert's runbook_url, a reason's link). Pure. Handles the subset the runbooks use: ATX headings
 * (with GitHub-style ids, so `ntp#the-collector-host` anchors work), paragraphs, fenced code,
 * `-` and `1.` lists, inline code, **bold**, and links. Everything is escaped first; a link keeps
 * only http(s), relative and #anchor targets, and `x.md` becomes `x` (the served path).
 */

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .trim()
    .replace(/\s/g, '-');
}

function inline(text: string): string {
  // Code spans first, kept out of the other replacements.
  const codes: string[] = [];
  let s = text.replace(/`([^`]+)`/g, (_m, c: string) => {
    codes.push(`<code>${escapeHtml(c)}</code>`);
    return `\u0000${codes.length - 1}\u0000`;
  });
  s = escapeHtml(s);
  s = s.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  s = s.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => {
    const raw = href.replace(/&amp;/g, '&');
    if (!/^(https?:\/\/|#|[a-z0-9._-]+(\.md)?(#[a-z0-9-]+)?$)/i.test(raw)) return label;
    const target = raw.replace(/^([a-z0-9_-]+)\.md(#|$)/i, '$1$2');
    return `<a href="${escapeHtml(target)}">${label}</a>`;
  });
  return s.replace(/\u0000(\d+)\u0000/g, (_m, i: string) => codes[Number(i)] as string);
}

export function markdownToHtml(markdown: string): { title: string; body: string } {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let title = '';
  let para: string[] = [];
  let list: { tag: 'ul' | 'ol'; items: string[] } | null = null;
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
    if (list) out.push(`<${list.tag}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.tag}>`);
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const fence = /^```(\w*)/.exec(line);
    if (fence) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !/^```/.test(lines[i] as string)) code.push(lines[i] as string);
      out.push(`<pre><code>${escapeHtml(code.join('\n'))}</code></pre>`);
      continue;
    }
    const h = /^(#{1,4})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const level = (h[1] as string).length;
      const text = (h[2] as string).trim();
      if (level === 1 && !title) title = text.replace(/`/g, '');
      out.push(`<h${level} id="${escapeHtml(headingSlug(text))}">${inline(text)}</h${level}>`);
      continue;
    }
    const item = /^(?:(-|\*)|(\d+)\.)\s+(.*)$/.exec(line);
    if (item) {
      const tag = item[1] ? 'ul' : 'ol';
      if (para.length || (list && list.tag !== tag)) flush();
      list ??= { tag, items: [] };
      list.items.push(item[3] as string);
      continue;
    }
    if (/^\s+\S/.test(line) && list) {
      // A continuation line of the last list item.
      list.items[list.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (list) flush();
    para.push(line.trim());
  }
  flush();
  return { title, body: out.join('\n') };
}

/** The whole page; its styles are inline so the CSP can forbid everything else. */
export function runbookPage(markdown: string): string {
  const { title, body } = markdownToHtml(markdown);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title || 'clockwatch runbook')}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;background:#fff}code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f3f3f3;padding:.75rem;overflow-x:auto}p code,li code{background:#f3f3f3;padding:0 .2em}a{color:#0645ad}h1,h2,h3{line-height:1.2}</style>
</head><body><main>
${body}
</main></body></html>
`;
}
