// The seed contract used literally (DESIGN.md §3) in Chromium against the real Orthanc + Helios
// FHIR Server (through the dev server's proxy): construct with a URL string, loadPatientImages,
// fetchStudies, loadImage → <img src> shows the image. And loadImage's own rendering against the
// built-in sample server, which renders nothing. The page runs under the dev server's strict CSP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  artifacts, clearJournal, compareImg, expectedGray8, journal, launch, loadManifest, newPage, recordRequests, requireEnv,
  ctOf,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Runs the seed contract in the page; the image's URL ends up in `<img id="first">`. */
async function seedContract(page, { patientId, studyUid, seriesUid, instanceUid, token }) {
  return page.evaluate(async ({ patientId, studyUid, seriesUid, instanceUid, token }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const viewer = new EMRImagingComponent(`${location.origin}/fhir`);
    viewer.mount(document.getElementById('imaging'));
    await viewer.loadPatientImages(patientId, token);
    const studies = await viewer.fetchStudies(patientId, token);
    const study = studies.find((s) => s.studyUid === studyUid);
    const series = study.series.find((s) => s.uid === seriesUid);
    const url = await viewer.loadImage(study.studyUid, series.uid, instanceUid, token);
    const img = document.getElementById('first');
    img.src = url;
    await img.decode();
    window.viewer = viewer;
    return { url, studies: studies.map((s) => s.studyUid) };
  }, { patientId, studyUid, seriesUid, instanceUid, token });
}

test('seed contract against the real servers: loadImage gives a blob: JPEG of the right image', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const dataDir = requireEnv('E2E_DATA');
  const { patient, study, series } = ctOf(loadManifest(dataDir));
  const first = series.instances[0];
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  await page.goto(`${proxy}/examples/plain/`);
  await clearJournal(proxy);

  const result = await seedContract(page, {
    patientId: patient.fhir_id, studyUid: study.uid, seriesUid: series.uid, instanceUid: first.sop_instance_uid, token: 'e2e-contract-1',
  });
  assert.match(result.url, /^blob:/);
  assert.deepEqual(result.studies.sort(), patient.studies.map((s) => s.uid).sort());

  const diff = await compareImg(page, '#first', expectedGray8(dataDir, first.expected), first.columns, first.rows);
  console.log(`real servers, server-rendered JPEG vs expected: ${JSON.stringify(diff)}`);
  assert.ok(diff.mean >= 0 && diff.mean <= 3, `mean difference ${diff.mean}`);
  assert.ok(diff.over <= first.columns * first.rows * 0.01, `${diff.over} pixels off by more than 16`);
  await page.screenshot({ path: path.join(artifacts, 'contract-real-servers.png') });

  // Orthanc renders: the JPEG is the server's, released after its metadata was checked.
  const seen = await journal(proxy);
  const instancePath = `/instances/${first.sop_instance_uid}`;
  assert.ok(seen.some((r) => r.path.endsWith(`${instancePath}/metadata`)), 'metadata was read for the identity check');
  const rendered = seen.find((r) => r.path.endsWith(`${instancePath}/rendered`));
  assert.ok(rendered, 'the server rendered the JPEG');
  // With the header's window: servers' automatic windowing is not the one PS3.3 gives.
  assert.match(rendered.query ?? '', /window=[^&]*linear/);
  for (const r of seen.filter((r) => r.path.startsWith('/fhir/') || r.path.startsWith('/dicom-web/'))) {
    assert.ok(r.authorization?.startsWith('Bearer e2e-'), `${r.method} ${r.path} carried the token`);
  }
  // The token went nowhere but the allowed origin (the FHIR base's).
  const origin = new URL(proxy).origin;
  const leaked = requests.filter((r) => r.authorization && new URL(r.url).origin !== origin);
  assert.deepEqual(leaked, []);
  assert.ok(requests.some((r) => r.authorization === 'Bearer e2e-contract-1'), 'the page sent the token');
  assert.deepEqual(problems, []);
  await page.close();
});

test('loadImage renders the JPEG itself when the server does not, and refuses studies it was not given', async () => {
  const sample = requireEnv('E2E_SAMPLE_URL');
  const dataDir = requireEnv('E2E_SAMPLE_DATA');
  const { patient, study, series } = ctOf(loadManifest(dataDir));
  const first = series.instances[0];
  const { page, problems } = await newPage(browser);
  await page.goto(`${sample}/examples/plain/`);
  await clearJournal(sample);
  const result = await seedContract(page, {
    patientId: patient.fhir_id, studyUid: study.uid, seriesUid: series.uid, instanceUid: first.sop_instance_uid,
  });
  assert.match(result.url, /^blob:/);
  const diff = await compareImg(page, '#first', expectedGray8(dataDir, first.expected), first.columns, first.rows);
  console.log(`sample server, our own JPEG vs expected: ${JSON.stringify(diff)}`);
  assert.ok(diff.mean >= 0 && diff.mean <= 2, `mean difference ${diff.mean}`);
  assert.ok(diff.over <= first.columns * first.rows * 0.01, `${diff.over} pixels off by more than 16`);
  const seen = await journal(sample);
  assert.ok(!seen.some((r) => r.path.endsWith('/rendered')), 'no rendering was asked once metadata was refused');
  assert.ok(seen.some((r) => r.path.endsWith(`/instances/${first.sop_instance_uid}`)), 'the instance itself was retrieved');

  // A study that is not the patient's (never fetched) is refused with a typed error.
  const error = await page.evaluate(() => window.viewer.loadImage('1.2.3.4', '1.2.3.4.5', '1.2.3.4.5.6').then(() => null, (e) => ({
    isError: e instanceof Error, code: e.code, status: e.status, message: e.message,
  })));
  assert.deepEqual({ isError: error.isError, code: error.code, status: error.status }, { isError: true, code: 'not-found', status: null });
  // The browser logs the sample server's 404 for /metadata, the refusal that led to our own rendering.
  assert.deepEqual(problems.filter((p) => !p.includes('status of 404')), []);
  await page.close();
});
