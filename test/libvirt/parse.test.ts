/**
 * The domain XML reader: every fixture (persistent files as libvirt writes them, `virsh dumpxml`
 * output recorded from libvirt's test driver, a live <domstatus> file) parses to the right facts,
 * and hostile or malformed input is refused with a reason instead of an exception.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { familyFromOsinfoId, normalizeUuid, parseDomainXml, parseXml, type LibvirtDomain } from '@clockwatch/shared';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'libvirt');
const read = (name: string) => readFileSync(join(fixtures, name), 'utf8');
const domain = (name: string): LibvirtDomain => {
  const r = parseDomainXml(read(name));
  if (!r.ok) throw new Error(`${name}: ${r.error.message}`);
  return r.domain;
};

t.test('fixtures parse to their facts', async (t) => {
  const cases: [string, Partial<LibvirtDomain>, string, [string, string | null, string | null][]][] = [
    ['linux-utc.xml', { name: 'web-deb12', uuid: '3f5b2c8e-6a1d-4e2f-9b7c-0d4e8a1f2b3c', osFamilyHint: 'linux', osinfoId: 'http://debian.org/debian/12', live: false, type: 'kvm', arch: 'x86_64' }, 'utc', [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no']]],
    ['linux-localtime.xml', { name: 'db-alma9', osFamilyHint: 'linux', live: false }, 'localtime', [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no']]],
    [
      'windows-localtime-hypervclock.xml',
      // The file spells the UUID in capitals; the parser gives the canonical lowercase form.
      { name: 'dc01-win2k22', uuid: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f', osFamilyHint: 'windows', osinfoId: 'http://microsoft.com/win/2k22' },
      'localtime',
      [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no'], ['hypervclock', null, 'yes']],
    ],
    ['windows-utc.xml', { name: 'app-win2k19', osFamilyHint: 'windows' }, 'utc', [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no']]],
    ['variable-adjustment.xml', { name: 'ci-runner-ubuntu', osFamilyHint: 'linux' }, 'variable', [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no']]],
    ['timezone-paris.xml', { name: 'pos-paris-01', osFamilyHint: null, osinfoId: null }, 'timezone', [['rtc', 'catchup', null], ['pit', 'delay', null], ['hpet', null, 'no'], ['hypervclock', null, 'yes']]],
    ['live-domstatus.xml', { name: 'mail-rocky9', uuid: 'e4b1c9d2-6f3a-4b8e-a0c7-5d2f9e1b3a64', osFamilyHint: 'linux', live: true, state: 'running' }, 'utc', [['rtc', 'catchup', null], ['pit', 'delay', null]]],
  ];
  for (const [file, facts, offset, timers] of cases) {
    const d = domain(file);
    t.match(d, facts, `${file}: identity`);
    t.equal(d.clock?.offset, offset, `${file}: offset`);
    t.same(d.clock?.timers.map((x) => [x.name, x.tickpolicy, x.present]), timers, `${file}: timers`);
    t.same(d.notes, [], `${file}: nothing odd`);
  }
  const v = domain('variable-adjustment.xml').clock;
  t.match(v, { adjustment: '3600', basis: 'utc', timezone: null });
  t.equal(domain('timezone-paris.xml').clock?.timezone, 'Europe/Paris');
});

t.test('virsh dumpxml output recorded from libvirt (running domains carry an id)', async (t) => {
  const d = domain('virsh/dumpxml-9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68.xml');
  t.match(d, { name: 'db-alma9', uuid: '9a0c7d42-1b6e-4f3a-8c25-7e9d1f0a4b68', live: true, state: null, osFamilyHint: 'linux' });
  t.equal(d.clock?.offset, 'localtime');
});

t.test('live <domstatus>: entities, CDATA, double quotes, namespaced metadata', async (t) => {
  const root = parseXml(read('live-domstatus.xml'));
  t.equal(root.local, 'domstatus');
  const dom = root.children.find((c) => c.local === 'domain');
  t.equal(dom?.children.find((c) => c.local === 'title')?.text, '"mail" relay');
  t.equal(dom?.children.find((c) => c.local === 'description')?.text, 'Mail relay & spam filter \u2014 owner "ops" <ops@example.org> <not markup> ');
  const meta = dom?.children.find((c) => c.local === 'metadata')?.children[0];
  t.match(meta, { name: 'libosinfo:libosinfo', local: 'libosinfo', ns: 'http://libosinfo.org/xmlns/libvirt/domain/1.0' });
});

t.test('libosinfo is found by namespace, not by prefix', async (t) => {
  const xml = `<domain type='kvm'><name>x</name><uuid>00000000-0000-0000-0000-0000000000aa</uuid><metadata>
    <os xmlns='http://example.org/not-osinfo' id='http://microsoft.com/win/10'/>
    <i:libosinfo xmlns:i="http://libosinfo.org/xmlns/libvirt/domain/1.0"><i:os id="http://microsoft.com/win/11"/></i:libosinfo>
  </metadata></domain>`;
  const r = parseDomainXml(xml);
  t.ok(r.ok);
  if (r.ok) t.match(r.domain, { osinfoId: 'http://microsoft.com/win/11', osFamilyHint: 'windows' });
});

t.test('OS family from libosinfo ids', async (t) => {
  t.equal(familyFromOsinfoId('http://microsoft.com/win/10'), 'windows');
  t.equal(familyFromOsinfoId('http://fedoraproject.org/fedora/39'), 'linux');
  t.equal(familyFromOsinfoId('http://redhat.com/rhel/9.2'), 'linux');
  t.equal(familyFromOsinfoId('http://libosinfo.org/linux/2022'), 'linux');
  t.equal(familyFromOsinfoId('http://freebsd.org/freebsd/14.0'), null, 'not guessed');
  t.equal(familyFromOsinfoId('http://oracle.com/solaris/11'), null);
  t.equal(familyFromOsinfoId(null), null);
});

t.test('UUIDs are normalised', async (t) => {
  t.equal(normalizeUuid('C1D2E3F4-A5B6-4C7D-8E9F-0A1B2C3D4E5F'), 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f');
  t.equal(normalizeUuid('{c1d2e3f4a5b64c7d8e9f0a1b2c3d4e5f}'), 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f');
  t.equal(normalizeUuid('not-a-uuid'), null);
  t.equal(normalizeUuid(null), null);
  const r = parseDomainXml("<domain><name>a</name><uuid>nope</uuid></domain>");
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.domain.uuid, null);
    t.match(r.domain.notes, [/'nope' is not a UUID/]);
    t.equal(r.domain.clock, null, 'no <clock> element');
  }
});

t.test('malformed and hostile input is refused with a reason', async (t) => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><domain>&lol2;</domain>`;
  const cases: [string, string | RegExp][] = [
    [bomb, /DOCTYPE/],
    ['<domain><name>&foo;</name></domain>', /unknown entity &foo;/],
    ['<domain><name>a & b</name></domain>', /bare '&'/],
    ['<domain><name>x</nam></domain>', /does not match/],
    ['<domain><name>x</name>', /unclosed element <domain>/],
    ['<domain type=kvm></domain>', /must be quoted/],
    ["<domain type='a' type='b'></domain>", /duplicate attribute/],
    ['<domain/><domain/>', /more than one root/],
    ['<domain><!-- never closed </domain>', /unterminated comment/],
    ["<domain><name a='<'/></domain>", /'<' in the value/],
    ['<domain>&#0;</domain>', /invalid character reference/],
    ['', /no root element/],
    ['just text', /text outside the root/],
    ["<network><name>default</name></network>", /root element is <network>/],
    ["<domstatus state='running'><taint/></domstatus>", /no <domain>/],
  ];
  for (const [xml, why] of cases) {
    const r = parseDomainXml(xml);
    t.equal(r.ok, false, `refused: ${xml.slice(0, 40)}`);
    if (!r.ok) {
      t.equal(r.error.code, 'CW_ERR_PARSE');
      t.match(r.error.message, why);
    }
  }
});

t.test('bounds: size, depth, element count', async (t) => {
  const big = `<domain><description>${'x'.repeat(2000)}</description></domain>`;
  const r1 = parseDomainXml(big, { maxChars: 1000 });
  t.equal(r1.ok, false);
  if (!r1.ok) t.match(r1.error.message, /too large/);
  const deep = '<domain>' + '<a>'.repeat(200) + '</a>'.repeat(200) + '</domain>';
  const r2 = parseDomainXml(deep);
  t.equal(r2.ok, false);
  if (!r2.ok) t.match(r2.error.message, /nesting deeper than 64/);
  const wide = '<domain>' + '<a/>'.repeat(30_000) + '</domain>';
  const r3 = parseDomainXml(wide);
  t.equal(r3.ok, false);
  if (!r3.ok) t.match(r3.error.message, /more than 20000 elements/);
  t.ok(parseDomainXml(read('live-domstatus.xml')).ok, 'real files are well within the bounds');
});

t.test('character references and the predefined entities decode', async (t) => {
  const el = parseXml(`<a x="&lt;&gt;&amp;&quot;&apos;&#65;&#x263A;"><![CDATA[<b>&amp;</b>]]>&#x1F600;</a>`);
  t.equal(el.attrs.x, `<>&"'A\u263a`);
  t.equal(el.text, '<b>&amp;</b>\u{1F600}');
});
