// Upload in Chromium against Orthanc (STOW-RS through the dev proxy) and Helios: a 40-file folder
// written by pydicom arrives exactly once and byte for byte although two connections drop (one before
// the server saw the request, one after it stored the files) and the page reloads mid-queue; a file
// of another patient is refused and never sent; a CD's DICOMDIR picks its files; a JPEG becomes a VL
// Photographic Image that pydicom reads, with the JPEG bytes unchanged. Uploaded studies are listed: from
// QIDO-RS, or, with createImagingStudy, as ImagingStudies written to Helios with their Endpoint.
//
// The dropped connections are made in the browser's network layer (playwright's request routing),
// which forwards each STOW request to the real proxy and Orthanc and can cut it before or after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { artifacts, idbCount, launch, newPage, requireEnv } from './helpers.mjs';

let browser;
let work;
before(async () => {
  browser = await launch();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'emr-upload-'));
});
after(async () => {
  await browser?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const proxy = () => requireEnv('E2E_PROXY_URL');
const script = path.resolve('upload_files.py');
const python = (...args) => JSON.parse(execFileSync('python3', [script, ...args], { encoding: 'utf8' }));
const run = `${process.pid}-${Date.now()}`;

/** A patient of our own in Helios, so no other test's study list changes. */
async function makePatient(tag, family) {
  const id = `upload-${tag}-${run}`;
  const mrn = `MRN-UP-${tag}-${run}`;
  const bundle = {
    resourceType: 'Bundle', type: 'transaction',
    entry: [{
      resource: { resourceType: 'Patient', id, identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: mrn }], name: [{ family, given: ['Test'] }] },
      request: { method: 'PUT', url: `Patient/${id}` },
    }],
  };
  const r = await fetch(`${proxy()}/fhir`, { method: 'POST', headers: { 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(bundle) });
  assert.ok(r.ok, `the Patient transaction answered ${r.status}: ${await r.text()}`);
  return { id, mrn, family };
}

/** A page on the proxy's origin with the upload panel, the patient open. */
async function uploadPage(page, patientId, extra = {}) {
  await page.evaluate(async ({ patientId, extra }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    window.uploads = [];
    document.addEventListener('emr-imaging:upload', (e) => window.uploads.push(e.detail));
    const host = document.body.appendChild(document.createElement('div'));
    host.style.width = '1000px';
    host.style.height = '760px';
    window.viewer = new EMRImagingComponent({ fhirBaseUrl: '/fhir', token: 'e2e-upload', upload: { stowBaseUrl: '/dicom-web', ...extra } });
    window.viewer.mount(host);
    await window.viewer.loadPatientImages(patientId);
  }, { patientId, extra });
}

/** The listed files: [{ name, state, sop }]. */
const listed = (page) => page.$$eval('[data-testid=upload-file]', (items) => items.map((li) => ({
  name: li.querySelector('.emr-upload-name').textContent,
  state: li.dataset.state,
  text: li.querySelector('.emr-upload-state').textContent,
  sop: li.dataset.sopInstanceUid ?? null,
})));

async function waitFor(what, check, ms = 90000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Records every STOW request the page makes: which instances its body holds, and which its answer confirmed. */
function stowRecorder(page, sops, decide = () => 'forward') {
  const log = [];
  page.route((url) => url.pathname === '/dicom-web/studies', async (route) => {
    const request = route.request();
    if (request.method() !== 'POST') return route.continue();
    const body = request.postDataBuffer() ?? Buffer.alloc(0);
    const entry = { sent: sops.filter((s) => body.includes(Buffer.from(s))), confirmed: [], fate: decide(log.length) };
    log.push(entry);
    if (entry.fate === 'drop-before') return route.abort('connectionreset');
    if (entry.fate === 'hold') return new Promise(() => {});
    const response = await route.fetch();
    if (entry.fate === 'drop-after') return route.abort('connectionreset');
    const answer = await response.body();
    // Confirmed: stored (00081199), or already there (a 409, or a failure with reason 0x0111).
    try {
      const json = JSON.parse(answer.toString('utf8'));
      const object = Array.isArray(json) ? json[0] : json;
      const uids = (tag) => (object?.[tag]?.Value ?? []).map((i) => i['00081155']?.Value?.[0]);
      entry.confirmed = [...uids('00081199'), ...(response.status() === 409 ? uids('00081198') : [])];
    } catch { /* an empty answer confirms nothing */ }
    entry.status = response.status();
    return route.fulfill({ response, body: answer });
  });
  return log;
}

/** One instance back from Orthanc through WADO-RS, as stored. */
async function retrieve(study, series, sop) {
  const r = await fetch(`${proxy()}/dicom-web/studies/${study}/series/${series}/instances/${sop}`, {
    headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
  });
  assert.equal(r.status, 200, `retrieve ${sop}`);
  const boundary = /boundary="?([^";]+)"?/.exec(r.headers.get('content-type'))[1];
  const body = Buffer.from(await r.arrayBuffer());
  const start = body.indexOf('\r\n\r\n', body.indexOf(`--${boundary}`)) + 4;
  const end = body.indexOf(Buffer.from(`\r\n--${boundary}`), start);
  return body.subarray(start, end);
}

async function instancesInOrthanc(study) {
  const r = await fetch(`${proxy()}/dicom-web/studies/${study}/instances`, { headers: { Accept: 'application/dicom+json' } });
  if (r.status === 204 || r.status === 404) return [];
  assert.equal(r.status, 200);
  return (await r.json()).map((i) => i['00080018'].Value[0]);
}

const queuedInBrowser = (page) => idbCount(page, 'emr-imaging-upload', 'queue');

test('a 40-file folder arrives once, byte for byte, through two dropped connections and a reload', async () => {
  const patient = await makePatient('folder', 'Folder');
  const made = python('folder', path.join(work, 'folder'), patient.mrn, patient.family, '40');
  const sops = made.files.map((f) => f.sop);
  const { page, problems } = await newPage(browser);
  // The first batch: cut before the server saw it, then cut after the server stored it, then through;
  // the second batch is held (never answered) while the page reloads, then goes through.
  const fates = ['drop-before', 'drop-after', 'forward', 'hold'];
  const log = stowRecorder(page, sops, (n) => fates[n] ?? 'forward');
  await page.goto(`${proxy()}/examples/README.md`);
  await uploadPage(page, patient.id);
  await page.setInputFiles('[data-testid=upload-folder]', path.join(work, 'folder'));
  await waitFor('40 ready files', async () => (await listed(page)).filter((f) => f.state === 'ready').length === 40);
  const studies = await page.$$eval('[data-testid=upload-study]', (l) => l.map((e) => e.dataset.studyUid));
  assert.deepEqual(studies, [made.study], 'one study offered');
  await page.screenshot({ path: path.join(artifacts, 'upload-ready.png') });
  await page.click('[data-testid=upload-send]');

  await waitFor('the second batch in flight', () => log.length >= 4 && log[3].fate === 'hold');
  const before = await listed(page);
  const confirmedBefore = before.filter((f) => ['stored', 'already-present'].includes(f.state)).length;
  assert.equal(confirmedBefore, 20, `the first batch is confirmed before the reload: ${JSON.stringify(log.map((l) => [l.fate, l.sent.length, l.status]))}`);
  assert.equal(await queuedInBrowser(page), 20, 'the unconfirmed 20 wait in IndexedDB');
  await page.screenshot({ path: path.join(artifacts, 'upload-sending.png') });

  await page.reload();
  await uploadPage(page, patient.id);
  await waitFor('the queue resumed and emptied', async () => (await queuedInBrowser(page)) === 0);
  const after = await listed(page);
  assert.equal(after.length, 20, 'the resumed files are listed again');
  assert.ok(after.every((f) => f.state === 'stored' || f.state === 'already-present'), JSON.stringify(after));
  await page.screenshot({ path: path.join(artifacts, 'upload-resumed.png') });

  // Exactly the 40, byte for byte.
  const held = await instancesInOrthanc(made.study);
  assert.deepEqual([...held].sort(), [...sops].sort(), 'Orthanc holds exactly the 40 instances');
  for (const f of made.files) {
    const back = await retrieve(made.study, f.series, f.sop);
    assert.ok(back.equals(fs.readFileSync(f.path)), `${path.basename(f.path)} byte for byte`);
  }
  // Never sent again once confirmed.
  const confirmedAt = new Map();
  log.forEach((entry, i) => entry.confirmed.forEach((s) => { if (!confirmedAt.has(s)) confirmedAt.set(s, i); }));
  assert.equal(confirmedAt.size, 40, 'every file was confirmed');
  const resent = log.flatMap((entry, i) => entry.sent.filter((s) => confirmedAt.get(s) < i));
  assert.deepEqual(resent, [], 'no file went out after its confirmation');
  console.log(`upload: ${log.length} STOW requests (${log.map((l) => `${l.fate}:${l.sent.length}${l.status ? `→${l.status}` : ''}`).join(', ')}); ${held.length} in Orthanc`);
  assert.deepEqual(problems.filter((p) => !p.includes('Failed to load resource')), []);
});

test('a file of another patient is refused with its reason and never sent', async () => {
  const patient = await makePatient('mixed', 'Mixed');
  const ours = python('folder', path.join(work, 'mixed'), patient.mrn, patient.family, '3');
  const theirs = python('folder', path.join(work, 'other'), 'MRN-SOMEONE-ELSE', 'Else', '1');
  fs.copyFileSync(theirs.files[0].path, path.join(work, 'mixed', 'ELSE.dcm'));
  fs.writeFileSync(path.join(work, 'mixed', 'notes.txt'), 'not an image\n');
  const { page, problems } = await newPage(browser);
  const log = stowRecorder(page, [...ours.files.map((f) => f.sop), theirs.files[0].sop]);
  await page.goto(`${proxy()}/examples/README.md`);
  await uploadPage(page, patient.id);
  await page.setInputFiles('[data-testid=upload-folder]', path.join(work, 'mixed'));
  await waitFor('5 listed files', async () => (await listed(page)).length === 5);
  const files = await listed(page);
  const other = files.find((f) => f.name.endsWith('ELSE.dcm'));
  assert.equal(other.state, 'refused');
  assert.match(other.text, /not this patient's/);
  assert.equal(files.find((f) => f.name.endsWith('notes.txt')).state, 'refused');
  const refusedEvents = await page.evaluate(() => window.uploads.filter((u) => u.outcome === 'refused').length);
  assert.equal(refusedEvents, 2, 'the host hears of both refusals');
  await page.screenshot({ path: path.join(artifacts, 'upload-refused.png') });
  await page.click('[data-testid=upload-send]');
  await waitFor('3 stored', async () => (await listed(page)).filter((f) => f.state === 'stored').length === 3);
  assert.ok(log.every((l) => !l.sent.includes(theirs.files[0].sop)), 'the other patient\'s file was never in a request');
  assert.deepEqual(await instancesInOrthanc(theirs.study), [], 'Orthanc never received it');
  assert.equal((await instancesInOrthanc(ours.study)).length, 3);
  // Without createImagingStudy the study is listed from QIDO-RS.
  await page.waitForSelector(`[data-testid=study-list] [data-study-uid="${ours.study}"]`, { timeout: 30000 });
  assert.deepEqual(problems.filter((p) => !p.includes('Failed to load resource')), []);
});

test('a CD\'s DICOMDIR picks its files; a JPEG photo becomes a VL Photographic Image pydicom reads', async () => {
  const patient = await makePatient('cd', 'Compact');
  const cd = python('cd', path.join(work, 'CD'), patient.mrn, patient.family, '4');
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy()}/examples/README.md`);
  await uploadPage(page, patient.id, { createImagingStudy: true });
  await page.setInputFiles('[data-testid=upload-folder]', path.join(work, 'CD'));
  await waitFor('the CD files', async () => (await listed(page)).length === 4);
  const files = await listed(page);
  assert.ok(files.every((f) => f.state === 'ready'), JSON.stringify(files));
  assert.deepEqual(files.map((f) => f.sop).sort(), cd.files.map((f) => f.sop).sort(), 'exactly the files the DICOMDIR names');
  assert.ok(!files.some((f) => f.name.endsWith('README.TXT')), 'a file the DICOMDIR does not name is not offered');

  // A camera picture: a real JPEG, made by the browser's encoder.
  const jpeg = Buffer.from(await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(64, 48);
    const g = canvas.getContext('2d');
    g.fillStyle = '#c04030';
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#30a0c0';
    g.fillRect(16, 12, 32, 24);
    const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
    return [...new Uint8Array(await blob.arrayBuffer())];
  }));
  const photo = path.join(work, 'wound.jpg');
  fs.writeFileSync(photo, jpeg);
  await page.selectOption('[data-testid=upload-body-site]', '7');
  await page.setInputFiles('[data-testid=upload-camera]', photo);
  await waitFor('the photo listed', async () => (await listed(page)).length === 5);
  const made = (await listed(page)).find((f) => f.name === 'wound.jpg');
  assert.equal(made.state, 'ready', JSON.stringify(made));
  await page.screenshot({ path: path.join(artifacts, 'upload-cd-photo.png') });
  await page.click('[data-testid=upload-send]');
  await waitFor('5 stored', async () => (await listed(page)).filter((f) => f.state === 'stored').length === 5);
  assert.equal((await instancesInOrthanc(cd.study)).length, 4);
  // With createImagingStudy both studies are recorded in Helios, with their Endpoint, and listed from there.
  await page.waitForSelector(`[data-testid=study-list] [data-study-uid="${cd.study}"]`, { timeout: 30000 });
  const recorded = await waitFor('the ImagingStudies in Helios', async () => {
    const r = await fetch(`${proxy()}/fhir/ImagingStudy?patient=Patient/${patient.id}`);
    const entries = ((await r.json()).entry ?? []).map((e) => e.resource).filter((e) => e.resourceType === 'ImagingStudy');
    return entries.length === 2 ? entries : null;
  }, 30000);
  const cdStudy = recorded.find((r) => r.identifier?.some((i) => i.value === `urn:oid:${cd.study}`));
  assert.ok(cdStudy, 'the CD study is an ImagingStudy of the patient');
  assert.equal(cdStudy.numberOfInstances, 4);
  const endpoint = await (await fetch(`${proxy()}/fhir/${cdStudy.endpoint[0].reference}`)).json();
  assert.match(endpoint.address, /\/dicom-web\/?$/, 'with its Endpoint');

  // The photo back from Orthanc, read by pydicom.
  const events = await page.evaluate(() => window.uploads);
  const stored = events.find((e) => e.name === 'wound.jpg' && e.outcome === 'stored');
  assert.ok(stored, JSON.stringify(events));
  const qido = await fetch(`${proxy()}/dicom-web/studies/${stored.studyUid}/instances`, { headers: { Accept: 'application/dicom+json' } });
  const series = (await qido.json())[0]['0020000E'].Value[0];
  const back = await retrieve(stored.studyUid, series, stored.sopInstanceUid);
  const file = path.join(work, 'photo.dcm');
  fs.writeFileSync(file, back);
  const read = python('read', file);
  assert.equal(read.sopClass, '1.2.840.10008.5.1.4.1.1.77.1.4');
  assert.equal(read.syntax, '1.2.840.10008.1.2.4.50', 'JPEG Baseline');
  assert.equal(read.patientId, patient.mrn);
  assert.match(read.patientName, /^Compact\^Test/);
  assert.equal(read.rows, 48);
  assert.equal(read.columns, 64);
  assert.equal(read.bodySite, '85562004', 'the body site picked (Hand)');
  const frame = Buffer.from(read.frame, 'hex');
  assert.ok(frame.subarray(0, jpeg.length).equals(jpeg) && frame.length - jpeg.length <= 1, 'the JPEG bytes unchanged (padded to even length)');
  assert.deepEqual(problems.filter((p) => !p.includes('Failed to load resource')), []);
});
