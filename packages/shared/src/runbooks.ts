/**
 * Where each check's runbook lives: `docs/checks/<id>.md` in the repository, served by every
 * collector at `/docs/checks/<id>`. Pure: a link is built from the check id alone, so a reason,
 * an alert annotation, the page, the status CLI and an export all give the same stable address.
 */

/** The repository directory of the runbooks. */
export const RUNBOOK_DIR = 'docs/checks';
/** The collector path the runbooks are served under. */
export const RUNBOOK_PATH = '/docs/checks';

const ID = /^[a-z][a-z0-9-]*$/;

function checked(checkId: string): string {
  if (!ID.test(checkId)) throw new RangeError(`not a check id: '${checkId}'`);
  return checkId;
}

/** The runbook's file, relative to the repository root: `docs/checks/<id>.md`. */
export function runbookFile(checkId: string): string {
  return `${RUNBOOK_DIR}/${checked(checkId)}.md`;
}

/**
 * The runbook's link. Without `base`, the collector-served path `/docs/checks/<id>` (relative to
 * the collector that answered); with a base URL (`http://collector:7070`, or one with a path
 * prefix behind a proxy), the absolute URL under it.
 */
export function runbookUrl(checkId: string, base?: string): string {
  const path = `${RUNBOOK_PATH}/${checked(checkId)}`;
  if (base === undefined || base === '') return path;
  return `${base.replace(/\/+$/, '')}${path}`;
}
