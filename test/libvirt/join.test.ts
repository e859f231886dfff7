/**
 * Domains join agents by the SMBIOS system UUID the agent reports (libvirt sets it to the domain
 * UUID): case-insensitive, hyphens and braces ignored; what does not match is listed as such.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinDomainsToAgents, parseDomainXml, type LibvirtDomain } from '@clockwatch/shared';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'libvirt');
const load = (name: string): LibvirtDomain => {
  const r = parseDomainXml(readFileSync(join(fixtures, name), 'utf8'));
  if (!r.ok) throw new Error(r.error.message);
  return r.domain;
};

t.test('join by SMBIOS UUID', async (t) => {
  const domains = ['linux-utc.xml', 'linux-localtime.xml', 'windows-localtime-hypervclock.xml', 'timezone-paris.xml'].map(load);
  const agents = [
    { id: 'web', systemUuid: '3F5B2C8E-6A1D-4E2F-9B7C-0D4E8A1F2B3C' }, // dmidecode prints capitals
    { id: 'dc01', systemUuid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f' }, // the XML has capitals
    { id: 'laptop', systemUuid: null }, // SMBIOS unreadable
    { id: 'elsewhere', systemUuid: '11111111-2222-3333-4444-555555555555' },
    { id: 'garbage', systemUuid: 'Not Settable' }, // what some firmware reports
  ];
  const j = joinDomainsToAgents(domains, agents);
  t.same(j.matched.map((m) => [m.domain.name, m.agent.id]).sort(), [['dc01-win2k22', 'dc01'], ['web-deb12', 'web']]);
  t.same(j.domainsWithoutAgent.map((d) => d.name).sort(), ['db-alma9', 'pos-paris-01']);
  t.same(j.agentsWithoutDomain.map((a) => a.id).sort(), ['elsewhere', 'garbage', 'laptop']);
  t.same(j.duplicates, []);
});

t.test('a UUID on two agents (a cloned image) or two domains is listed as a duplicate', async (t) => {
  const web = load('linux-utc.xml');
  const agents = [
    { id: 'web-a', systemUuid: web.uuid },
    { id: 'web-b', systemUuid: `{${web.uuid}}` },
  ];
  const j = joinDomainsToAgents([web], agents);
  t.equal(j.matched.length, 2, 'both pairs are matched: the verdict applies to each');
  t.equal(j.duplicates.length, 1);
  t.same(j.duplicates[0]?.agents.map((a) => a.id), ['web-a', 'web-b']);
  t.equal(j.duplicates[0]?.uuid, '3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c');
  const two = joinDomainsToAgents([web, { ...web, name: 'web-copy' }], []);
  t.equal(two.duplicates[0]?.domains.length, 2);
  t.equal(two.domainsWithoutAgent.length, 2);
});

t.test('domains without a UUID never match', async (t) => {
  const j = joinDomainsToAgents([{ uuid: null, name: 'handmade' }], [{ id: 'a', systemUuid: null }]);
  t.same(j.matched, []);
  t.equal(j.domainsWithoutAgent.length, 1);
  t.equal(j.agentsWithoutDomain.length, 1);
});
