/**
 * One error catalog, one meaning per code: the product catalog (shared errors.ts) holds every code
 * once, and the agent's and the collector's codes are drawn from it.
 */
import t from 'tap';
import { ErrorCodes } from '@clockwatch/shared';
import { AgentErrorCodes } from '@clockwatch/agent';
import { ERROR_CODES } from '@clockwatch/collector';

t.test('every code once, each catalog drawn from the product catalog', async (t) => {
  const values = Object.values(ErrorCodes);
  const twice = values.filter((v, i) => values.indexOf(v) !== i);
  t.same(twice, [], 'no code stands for two things');
  t.ok(values.every((v) => /^CW_ERR_[A-Z_]+$/.test(v)), 'CW_ERR_* codes');
  const known = new Set<string>(values);
  t.same(Object.values(AgentErrorCodes).filter((c) => !known.has(c)), [], "the agent's codes are the catalog's");
  t.same(ERROR_CODES.filter((c) => !known.has(c)), [], "the collector's codes are the catalog's");
  t.equal(AgentErrorCodes.ROUTE, ErrorCodes.ROUTE_NOT_FOUND, 'a missing route is one code in both programs');
  t.not(AgentErrorCodes.ROUTE, ErrorCodes.NOT_FOUND, 'and not the code of a missing file');
});
