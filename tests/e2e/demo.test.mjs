// The demo EMR page in Chromium, against the real Orthanc + Helios FHIR Server (through the dev
// server's proxy) and against the built-in sample data. Pixels are compared, not just presence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  anyImageShown, artifacts, compareCanvas, displayedAfter, expectedGray8, launch, loadManifest, newPage, requireEnv,
  ctOf,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function openDemo(page, baseUrl, query = '') {
  await page.goto(`${baseUrl}/${query}`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
}

test('real servers: the CT slice on the canvas equals the expected rendering', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const dataDir = requireEnv('E2E_DATA');
  const manifest = loadManifest(dataDir);
  const { patient, study, series } = ctOf(manifest);
  const first = series.instances[0];
  const { page, problems } = await newPage(browser);
  // The servers hold other test patients too: pick ours by hand.
  await openDemo(page, proxy, '?manual');
  await fetch(`${proxy}/__devserver/requests`, { method: 'DELETE' });

  // Choose the patient as the EMR user would, with a token set by the host page.
  await page.evaluate(() => window.emrDemo.viewer.setToken('e2e-token-123'));
  await page.selectOption('[data-testid=patient-picker]', patient.fhir_id);
  const row = page.locator(`[data-study-uid="${study.uid}"]`);
  await row.waitFor();
  await anyImageShown(page);
  const detail = await displayedAfter(page, () => row.click(), study.uid);
  assert.equal(detail.studyUid, study.uid);
  assert.equal(detail.instanceUid, first.sop_instance_uid);
  assert.equal(detail.lossy, false);

  const result = await compareCanvas(page, expectedGray8(dataDir, first.expected), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `canvas differs from the expected rendering: ${JSON.stringify(result)}`);

  const banner = await page.locator('[data-testid=patient-banner]').innerText();
  assert.match(banner, new RegExp(patient.mrn));
  await page.screenshot({ path: path.join(artifacts, 'demo-real-servers.png') });

  // Same origin for FHIR and DICOMweb: the token went to both, and nowhere else was asked.
  const seen = await (await fetch(`${proxy}/__devserver/requests`)).json();
  const api = seen.filter((r) => r.path.startsWith('/fhir/') || r.path.startsWith('/dicom-web/'));
  assert.ok(api.some((r) => r.path.startsWith('/dicom-web/')), 'DICOMweb was asked through the proxy');
  for (const r of api) assert.ok(r.authorization?.startsWith('Bearer e2e-'), `${r.method} ${r.path} carried the token`);

  // Reload: the same image comes from IndexedDB, without a WADO-RS request for it.
  await fetch(`${proxy}/__devserver/requests`, { method: 'DELETE' });
  await openDemo(page, proxy, '?manual');
  await page.selectOption('[data-testid=patient-picker]', patient.fhir_id);
  await row.waitFor();
  await anyImageShown(page);
  await displayedAfter(page, () => row.click(), study.uid);
  const again = await compareCanvas(page, expectedGray8(dataDir, first.expected), first.columns, first.rows);
  assert.equal(again.mismatches, 0);
  const after = await (await fetch(`${proxy}/__devserver/requests`)).json();
  const wado = after.filter((r) => r.path.includes(`/instances/${first.sop_instance_uid}`));
  assert.deepEqual(wado, [], 'after a reload the slice came from the IndexedDB cache');
  assert.deepEqual(problems, []);
  await page.close();
});

test('built-in sample data: the demo shows a study list and a windowed CT', async () => {
  const sample = requireEnv('E2E_SAMPLE_URL');
  const { page, problems } = await newPage(browser);
  // The demo selects the first patient by itself and shows the newest study.
  await openDemo(page, sample);
  await page.waitForSelector('[data-study-uid]');
  await anyImageShown(page);
  const rows = await page.locator('[data-study-uid]').count();
  assert.ok(rows >= 2, `study list has ${rows} rows`);
  // Open the CT as a user would: every pixel equals the expected rendering of its first slice.
  const dataDir = requireEnv('E2E_SAMPLE_DATA');
  const { study, series } = ctOf(loadManifest(dataDir));
  const first = series.instances[0];
  const ct = page.locator(`[data-study-uid="${study.uid}"]`);
  const detail = await displayedAfter(page, () => ct.click(), study.uid);
  assert.equal(detail.instanceUid, first.sop_instance_uid);
  const result = await compareCanvas(page, expectedGray8(dataDir, first.expected), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `canvas differs from the expected rendering: ${JSON.stringify(result)}`);
  await page.screenshot({ path: path.join(artifacts, 'demo-sample-data.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
