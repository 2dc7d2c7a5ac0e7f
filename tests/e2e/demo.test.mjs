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

test('the demo as `cargo xtask demo` runs it: the hosted tab embeds the IID viewer from its second origin', async () => {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const port = await new Promise((resolve) => {
    // Two free ports 100 apart: the demo's and its viewer's.
    const tryPort = (p) => {
      const a = net.createServer();
      a.once('error', () => tryPort(p + 1));
      a.listen(p, '127.0.0.1', () => {
        const b = net.createServer();
        b.once('error', () => a.close(() => tryPort(p + 1)));
        b.listen(p + 100, '127.0.0.1', () => a.close(() => b.close(() => resolve(p))));
      });
    };
    tryPort(20000 + Math.floor(Math.random() * 20000));
  });
  // Its own process group: stopping it also stops the static server it starts.
  const demo = spawn(requireEnv('E2E_XTASK'), ['demo', '--no-build', '--port', String(port)], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  demo.stdout.on('data', (d) => { printed += d; });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; !/IID STUDY/.test(printed); i++) {
      if (i > 300) throw new Error(`the demo did not start: ${printed}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const dataDir = requireEnv('E2E_SAMPLE_DATA');
    const manifest = loadManifest(dataDir);
    const { study, series } = ctOf(manifest);
    assert.ok(printed.includes(`requestType=STUDY&studyUID=${study.uid}`), 'an IID URL per study is printed');
    const { page, problems } = await newPage(browser);
    const requests = [];
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
    await openDemo(page, base);
    await page.click('[data-testid=tab-hosted]');
    const frameOf = () => page.frames().find((f) => f.url().startsWith(`http://127.0.0.1:${port + 100}/viewer/`));
    await page.waitForFunction(() => document.querySelector('[data-testid=hosted-frame]')?.src, null, { timeout: 10000 });
    for (let i = 0; !frameOf() && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
    const frame = frameOf();
    assert.ok(frame, 'the viewer runs on the second origin');
    await frame.waitForFunction((uid) => document.querySelector('[data-testid=viewport]')
      && [...document.querySelectorAll('[data-study-uid]')].some((e) => e.dataset.studyUid === uid), study.uid, { timeout: 60000 });
    await frame.waitForFunction(() => document.querySelector('[data-testid=viewport-canvas]')?.width > 0, null, { timeout: 60000 });
    const first = series.instances[0];
    const canvas = await compareCanvas(frame, expectedGray8(dataDir, first.expected), first.columns, first.rows);
    assert.equal(canvas.mismatches, 0, `the first patient's newest study: ${JSON.stringify(canvas)}`);
    // The picker steers the frame by emr-imaging:open: the other patient, at once.
    const other = manifest.patients.find((p) => !p.studies.some((s) => s.uid === study.uid));
    await page.selectOption('#patient-picker', other.fhir_id);
    await frame.waitForFunction((family) => document.querySelector('[data-testid=patient-banner]')?.innerText.toUpperCase().includes(family),
      other.family.toUpperCase(), { timeout: 60000 });
    const theirs = other.studies[0].series[0].instances[0];
    await frame.waitForFunction((uid) => document.querySelector(`[data-study-uid="${uid}"]`), other.studies[0].uid, { timeout: 60000 });
    for (let i = 0; i < 100; i++) {
      if ((await compareCanvas(frame, expectedGray8(dataDir, theirs.expected), theirs.columns, theirs.rows)).mismatches === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const switched = await compareCanvas(frame, expectedGray8(dataDir, theirs.expected), theirs.columns, theirs.rows);
    assert.equal(switched.mismatches, 0, `the other patient's image: ${JSON.stringify(switched)}`);
    const fromFrame = requests.filter((r) => r.url.startsWith(`${base}/fhir/`) && r.authorization);
    assert.ok(fromFrame.some((r) => r.authorization === 'Bearer demo-token'), 'the token came by postMessage');
    assert.ok(!frame.url().includes('token'), 'and never in the address');
    await page.screenshot({ path: path.join(artifacts, 'demo-hosted-tab.png') });
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    try { process.kill(-demo.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
});
