// The audit trail in Chromium against Helios + Orthanc: every access becomes a FHIR AuditEvent
// (onAudit, emr-imaging:audit) and, through the IndexedDB outbox, reaches the audit repository
// behind the dev proxy at /audit (the TestAuditRepository: Helios refuses client AuditEvents).
// Read back by patient: the right types, study UIDs, accession and user; a 20 s cut (the audit path,
// then the whole proxy) loses and doubles nothing; 5 events queued before a reload are delivered once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { idbCount, launch, loadManifest, newPage, recordRequests, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => {
  await refuse('off');
  await browser?.close();
});

const proxy = () => requireEnv('E2E_PROXY_URL');
const repository = () => requireEnv('E2E_AUDIT_URL');
const USER = 'dr-audit-e2e';
const EVENT_ID_SYSTEM = 'urn:ietf:rfc:3986';

async function refuse(what) {
  const r = await fetch(`${proxy()}/__devserver/refuse`, { method: 'PUT', body: what });
  assert.equal(r.status, 204, `refuse ${what}`);
}

/** The event's stable id, as its X-Request-Id entity carries it. */
const stableId = (event) => event.entity.find((e) => e.what?.identifier?.system === EVENT_ID_SYSTEM).what.identifier.value;

/** The repository's events of `patientId`, read directly (not through the proxy). */
async function trail(patientId) {
  const r = await fetch(`${repository()}/AuditEvent?patient=Patient/${encodeURIComponent(patientId)}`);
  assert.equal(r.status, 200);
  return ((await r.json()).entry ?? []).map((e) => e.resource);
}

/** Polls the repository until every id in `ids` is there (or 90 s passed), then returns the trail. */
async function delivered(patientId, ids) {
  const deadline = Date.now() + 90000;
  for (;;) {
    const events = await trail(patientId);
    const have = new Set(events.map(stableId));
    if (ids.every((id) => have.has(id)) || Date.now() > deadline) return events;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A page on the proxy's origin with a component that records every audit event. */
async function componentPage() {
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy()}/examples/README.md`);
  await page.evaluate(async (user) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    window.audits = [];
    window.domAudits = 0;
    document.addEventListener('emr-imaging:audit', () => window.domAudits++);
    const host = document.body.appendChild(document.createElement('div'));
    host.style.width = '800px';
    host.style.height = '600px';
    window.viewer = new EMRImagingComponent({
      fhirBaseUrl: '/fhir', token: 'e2e-audit', userId: user,
      audit: { enabled: true, fhirBaseUrl: '/audit' },
      onAudit: (event) => window.audits.push(event),
    });
    window.viewer.mount(host);
  }, USER);
  return { page, problems };
}

/** Events the outbox still holds (IndexedDB `emr-imaging-audit`). */
const queued = (page) => idbCount(page, 'emr-imaging-audit', 'outbox');

async function waitFor(page, fn, arg) {
  await page.waitForFunction(fn, arg, { timeout: 60000 });
}

function noPhi(texts, patient) {
  for (const text of texts) {
    for (const phi of [patient.mrn, patient.family, patient.given, patient.birth_date]) {
      assert.ok(!text.includes(phi), `no PHI (${phi}) in: ${text}`);
    }
  }
}

test('one viewing session, read back from the repository: Query, Read once per series, Export, and a wrong-patient block', async () => {
  const [vera, max] = loadManifest(requireEnv('E2E_VIEWER_DATA')).patients;
  const study = vera.studies[0];
  const series = study.series[0];
  const { page, problems } = await componentPage();
  const requests = recordRequests(page);
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  const startUrl = page.url();

  await page.evaluate((id) => window.viewer.loadPatientImages(id), vera.fhir_id);
  await waitFor(page, () => window.audits.some((e) => e.type.code === 'rest' && e.action === 'R'));
  await page.evaluate(({ s, se, i }) => window.viewer.loadImage(s, se, i), { s: study.uid, se: series.uid, i: series.instances[0].sop_instance_uid });
  // Showing the same series again records no second Read.
  await page.evaluate((uid) => window.viewer.openStudy(uid), study.uid);
  const veraEvents = await page.evaluate(() => window.audits.slice());

  await page.evaluate((id) => window.viewer.loadPatientImages(id).catch(() => {}), max.fhir_id);
  await waitFor(page, () => window.audits.some((e) => e.outcome === '4'));
  const all = await page.evaluate(() => window.audits.slice());
  const maxEvents = all.slice(veraEvents.length);
  assert.equal(await page.evaluate(() => window.domAudits), all.length, 'every event also as emr-imaging:audit');

  const veraTrail = await delivered(vera.fhir_id, veraEvents.map(stableId));
  const maxTrail = await delivered(max.fhir_id, maxEvents.map(stableId));
  const mine = (events, sent) => events.filter((e) => sent.some((s) => stableId(s) === stableId(e)));
  const veraStored = mine(veraTrail, veraEvents);
  const maxStored = mine(maxTrail, maxEvents);
  assert.equal(veraStored.length, veraEvents.length, 'every event of Vera stored once');
  assert.equal(maxStored.length, maxEvents.length, 'every event of Max stored once');

  const kind = (e) => (e.type.code === '110112' ? 'Query' : e.type.code === '110106' ? 'Export' : e.outcome === '4' ? 'Blocked' : 'Read');
  const kinds = veraStored.map(kind);
  assert.equal(kinds.filter((k) => k === 'Query').length, 1, `kinds: ${kinds}`);
  assert.equal(kinds.filter((k) => k === 'Export').length, 1, `kinds: ${kinds}`);
  const reads = veraStored.filter((e) => kind(e) === 'Read');
  assert.ok(reads.length >= 1, 'the study was read');
  const seriesRead = reads.map((e) => e.entity.find((x) => x.detail)?.detail.find((d) => d.type === 'series')?.valueString);
  assert.equal(new Set(seriesRead).size, seriesRead.length, `one Read per series: ${seriesRead}`);
  assert.ok(seriesRead.includes(series.uid));
  for (const e of veraStored) {
    assert.deepEqual(e.agent[0].who, { identifier: { value: USER } }, 'the user');
    assert.ok(e.entity.some((x) => x.what?.reference === `Patient/${vera.fhir_id}`), 'the patient');
    assert.ok(e.recorded && e.source.observer.display.startsWith('emr-imaging '), 'time and source');
  }
  for (const e of [...reads, ...veraStored.filter((x) => kind(x) === 'Export')]) {
    const entity = e.entity.find((x) => x.what?.identifier?.system === 'urn:dicom:uid');
    assert.equal(entity.what.identifier.value, `urn:oid:${study.uid}`, 'the study UID');
    assert.ok(entity.detail.some((d) => d.type === 'accession' && d.valueString === study.accession), 'the accession');
  }
  const blocked = maxStored.filter((e) => e.outcome === '4');
  assert.equal(blocked.length, 1, `one wrong-patient block: ${maxStored.map(kind)}`);
  assert.equal(blocked[0].action, 'R');
  assert.ok(blocked[0].outcomeDesc && !blocked[0].outcomeDesc.includes(vera.mrn), 'a reason without PHI');
  assert.ok(maxStored.some((e) => kind(e) === 'Query'));

  // Neither the console nor a URL (the page's, the audit requests') carries PHI.
  assert.equal(page.url(), startUrl);
  const auditUrls = requests.filter((r) => new URL(r.url).pathname.startsWith('/audit')).map((r) => r.url);
  assert.ok(auditUrls.length > 0 && auditUrls.every((u) => new URL(u).search === ''), `audit requests: ${auditUrls}`);
  noPhi([...consoleLines, ...requests.map((r) => r.url)], vera);
  noPhi([...consoleLines], max);
  assert.deepEqual(problems, []);
  console.log(`audit trail: ${veraStored.length} events of Vera (${kinds.join(', ')}), ${maxStored.length} of Max`);
  await page.close();
});

test('the audit path, then the whole proxy, refused for 20 s during viewing: afterwards every event is stored, none twice', async () => {
  const [vera] = loadManifest(requireEnv('E2E_VIEWER_DATA')).patients;
  const study = vera.studies[0];
  const { page, problems } = await componentPage();
  await refuse('/audit');
  const cutAt = Date.now();
  await page.evaluate((id) => window.viewer.loadPatientImages(id), vera.fhir_id);
  for (const s of study.series) {
    await page.evaluate(({ a, b, c }) => window.viewer.loadImage(a, b, c), { a: study.uid, b: s.uid, c: s.instances[0].sop_instance_uid });
  }
  // Then the whole proxy refuses: viewing goes on with what is loaded; a new image fails.
  await refuse('on');
  const second = study.series[0].instances[1] ?? study.series[0].instances[0];
  await page.evaluate(({ a, b, c }) => window.viewer.loadImage(a, b, c).catch(() => null), { a: study.uid, b: study.series[0].uid, c: second.sop_instance_uid });
  const during = await page.evaluate(() => window.audits.length);
  await new Promise((r) => setTimeout(r, Math.max(0, 20000 - (Date.now() - cutAt))));
  const waiting = await queued(page);
  assert.ok(waiting >= during, `the ${during} events wait in the outbox (${waiting})`);
  await refuse('off');

  const sent = await page.evaluate(() => window.audits.slice());
  const ids = sent.map(stableId);
  const stored = (await delivered(vera.fhir_id, ids)).map(stableId).filter((id) => ids.includes(id));
  assert.equal(stored.length, ids.length, 'none lost');
  assert.equal(new Set(stored).size, stored.length, 'none twice');
  assert.equal(await queued(page), 0, 'the outbox is empty once confirmed');
  // The browser logs the refused requests (503) and nothing else.
  assert.deepEqual(problems.filter((p) => !p.includes('503')), []);
  console.log(`network cut: ${ids.length} events, ${during} recorded during the cut, each stored once`);
  await page.close();
});

test('five AuditEvents queued before a reload are delivered once after it', async () => {
  const [vera] = loadManifest(requireEnv('E2E_VIEWER_DATA')).patients;
  const study = vera.studies[0];
  const series = study.series[0];
  const { page, problems } = await componentPage();
  await refuse('/audit');
  await page.evaluate((id) => window.viewer.loadPatientImages(id), vera.fhir_id);
  // Exports until five events wait (the query and the reads of the load count too).
  const first = await page.evaluate(() => window.audits.length);
  assert.ok(first < 5, `${first} events after the load`);
  for (let i = first; i < 5; i++) {
    await page.evaluate(({ a, b, c }) => window.viewer.loadImage(a, b, c), { a: study.uid, b: series.uid, c: series.instances[0].sop_instance_uid });
  }
  const sent = await page.evaluate(() => window.audits.slice());
  assert.equal(sent.length, 5);
  const deadline = Date.now() + 30000;
  while ((await queued(page)) < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await queued(page), 5, 'five in the outbox');

  await page.reload();
  await refuse('off');
  // The new page's component resumes the outbox; it records nothing of its own.
  await page.evaluate(async () => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    window.audits = [];
    window.viewer = new EMRImagingComponent({ fhirBaseUrl: '/fhir', audit: { enabled: true, fhirBaseUrl: '/audit' }, onAudit: (e) => window.audits.push(e) });
  });
  const ids = sent.map(stableId);
  const stored = (await delivered(vera.fhir_id, ids)).map(stableId).filter((id) => ids.includes(id));
  assert.deepEqual([...stored].sort(), [...ids].sort(), 'the five, each once');
  for (const id of ids) {
    const r = await (await fetch(`${repository()}/AuditEvent?entity:identifier=${encodeURIComponent(`${EVENT_ID_SYSTEM}|${id}`)}`)).json();
    assert.equal(r.total, 1, `${id} stored once`);
  }
  const deadline2 = Date.now() + 30000;
  while ((await queued(page)) > 0 && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 200));
  assert.equal(await queued(page), 0, 'the outbox is empty');
  assert.equal(await page.evaluate(() => window.audits.length), 0);
  assert.deepEqual(problems.filter((p) => !p.includes('503')), []);
  await page.close();
});
