/**
 * GET /docs/checks/:id — the runbook of a check (docs/checks/<id>.md): what the check means, why
 * it matters in a KVM fleet, how to fix it on Linux, Windows and in libvirt. Alerts and reasons
 * link here (shared runbookUrl). A browser (Accept: text/html) gets a minimal HTML page under a
 * CSP that allows nothing but its inline style; anything else gets the markdown
 * (text/markdown, RFC 7763). `/docs/checks/<id>.md` is always the markdown; GET /docs/checks
 * lists them. Open without a read token: runbooks hold no fleet data.
 *
 * The files are looked up next to the package (`<collector>/docs/checks`, where a packaged
 * install puts them) and then at the repository root, and read once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CHECK_IDS, runbookUrl } from '@clockwatch/shared';
import { HttpError } from '../errors.js';
import { runbookPage } from '../runbook-html.js';

const CANDIDATE_DIRS = [new URL('../../docs/checks/', import.meta.url), new URL('../../../../docs/checks/', import.meta.url)];
const CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const cache = new Map<string, string>();

/** The markdown of a check's runbook, or null when no candidate directory has it. */
export function readRunbook(checkId: string, dirs: readonly URL[] = CANDIDATE_DIRS): string | null {
  const hit = cache.get(checkId);
  if (hit !== undefined) return hit;
  for (const dir of dirs) {
    try {
      const text = readFileSync(fileURLToPath(new URL(`${checkId}.md`, dir)), 'utf8');
      cache.set(checkId, text);
      return text;
    } catch {
      // next candidate
    }
  }
  return null;
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\btext\/html\b/.test(accept);
}

function send(reply: FastifyReply, markdown: string, html: boolean): FastifyReply {
  void reply.header('vary', 'accept').header('x-content-type-options', 'nosniff').header('cache-control', 'public, max-age=300');
  if (html) return reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(runbookPage(markdown));
  return reply.type('text/markdown; charset=utf-8').send(markdown);
}

export async function runbookRoutes(app: FastifyInstance): Promise<void> {
  const known = CHECK_IDS as readonly string[];
  app.get('/docs/checks', { schema: { summary: 'The runbooks, one per check', tags: ['docs'], produces: ['text/markdown', 'text/html'] } }, async (request, reply) => {
    const lines = ['# clockwatch runbooks', '', 'One per check: what it means, why it matters in a KVM fleet, how to fix it.', ''];
    for (const id of known) {
      const title = /^#\s+(.*)$/m.exec(readRunbook(id) ?? '')?.[1] ?? id;
      lines.push(`- [${id}](${runbookUrl(id).split('/').pop()}): ${title.replace(/`/g, '')}`);
    }
    return send(reply, `${lines.join('\n')}\n`, wantsHtml(request));
  });
  app.get<{ Params: { id: string } }>(
    '/docs/checks/:id',
    {
      schema: {
        summary: "A check's runbook (markdown, or HTML for a browser)",
        tags: ['docs'],
        produces: ['text/markdown', 'text/html'],
        params: { type: 'object', properties: { id: { type: 'string', description: `a check id: ${known.join(', ')}` } }, required: ['id'] },
      },
    },
    async (request, reply) => {
      const raw = request.params.id;
      const md = raw.endsWith('.md');
      const id = md ? raw.slice(0, -3) : raw;
      const text = known.includes(id) ? readRunbook(id) : null;
      if (text === null) throw new HttpError('RUNBOOK_NOT_FOUND', `no runbook for '${id}'; the checks are ${known.join(', ')}`);
      return send(reply, text, !md && wantsHtml(request));
    },
  );
}
