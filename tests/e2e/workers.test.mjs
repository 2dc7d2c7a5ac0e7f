// The decode workers in Chromium: every corpus file decodes to the same stored values in a
// worker as on the main thread, a page whose worker script cannot load still shows the right
// image (decoded on the main thread, and says so through `decodeMode()`), and the demo page,
// under the dev server's CSP (`worker-src 'self'`), decodes in workers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  compareCanvas, ctOf, displayedAfter, expectedGray8, launch, loadManifest, newPage, requireEnv,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const proxy = () => requireEnv('E2E_PROXY_URL');

/** Every DICOM file under `dir` (by the DICM preamble), recursively. */
function dicomFiles(dir) {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return dicomFiles(file);
    const { size } = fs.statSync(file);
    if (size < 132 || size > 8 * 1024 * 1024) return [];
    const head = Buffer.alloc(132);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, head, 0, 132, 0);
    fs.closeSync(fd);
    return head.toString('latin1', 128, 132) === 'DICM' ? [file] : [];
  });
}

async function demoPage(options) {
  const { page, problems } = await newPage(browser, options);
  await page.goto(`${proxy()}/?manual`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
  return { page, problems };
}

const decodeMode = (page) => page.evaluate(async () => (await import('/pkg/emr_imaging.js')).decodeMode());

test('workers: every corpus file decodes to the same stored values in a worker as here', async () => {
  const files = [...new Set(['E2E_DATA', 'E2E_VIEWER_DATA', 'E2E_SAMPLE_DATA', 'E2E_CORPUS'].flatMap((v) => dicomFiles(process.env[v])))];
  assert.ok(files.length > 10, `a corpus: ${files.length} files`);
  const { page, problems } = await demoPage();
  const differences = [];
  for (const file of files) {
    const b64 = fs.readFileSync(file).toString('base64');
    const diff = await page.evaluate(async (b64) => {
      const m = await import('/pkg/emr_imaging.js');
      return m.__compareWorkerDecode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    }, b64);
    if (diff !== '') differences.push(`${path.basename(file)}: ${diff}`);
  }
  assert.deepEqual(differences, [], `${files.length} files compared`);
  const mode = await decodeMode(page);
  assert.equal(mode.mode, 'workers');
  assert.ok(mode.workers >= 1 && mode.workers <= 4, JSON.stringify(mode));
  console.log(`decode workers: ${files.length} corpus files equal, ${mode.workers} worker(s)`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('workers: the demo page opens a CT decoded in workers under its CSP', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study, series } = ctOf(manifest);
  const { page, problems } = await demoPage();
  const csp = await page.evaluate(async () => (await fetch('/')).headers.get('content-security-policy'));
  assert.match(csp ?? '', /worker-src 'self'/);
  // The test data is uncompressed, which the workers leave to the main thread: send it to them.
  await page.evaluate(async () => {
    const m = await import('/pkg/emr_imaging.js');
    m.__offloadNative(true);
    const until = Date.now() + 30000;
    while (m.decodeMode().mode !== 'workers' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  });
  await page.selectOption('[data-testid=patient-picker]', patient.fhir_id);
  const row = page.locator(`[data-study-uid="${study.uid}"]`);
  await row.waitFor();
  await row.click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=scrollbar]')?.getAttribute('data-loaded') === String(n)
    && !document.querySelector('[data-testid=series-progress]'), series.instances.length, { timeout: 60000 });
  assert.ok(page.workers().some((w) => w.url().endsWith('/pkg/decode_worker.js')), page.workers().map((w) => w.url()).join());
  const mode = await decodeMode(page);
  assert.equal(mode.mode, 'workers');
  assert.ok(mode.decoded >= series.instances.length, `the stack was decoded in workers: ${JSON.stringify(mode)}`);
  const instance = series.instances[0];
  const canvas = await compareCanvas(page, expectedGray8(requireEnv('E2E_DATA'), instance.expected), instance.columns, instance.rows);
  assert.equal(canvas.mismatches, 0, JSON.stringify(canvas));
  assert.deepEqual(problems, []);
  await page.close();
});

test('workers: a worker script that cannot load leaves decoding to the main thread', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study, series } = ctOf(manifest);
  const { page, problems } = await newPage(browser);
  await page.route('**/decode_worker.js', (route) => route.abort());
  await page.goto(`${proxy()}/?manual`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
  // Even what would be sent to a worker is decoded here.
  await page.evaluate(async () => {
    const m = await import('/pkg/emr_imaging.js');
    m.__offloadNative(true);
    const until = Date.now() + 30000;
    while (m.decodeMode().mode !== 'main-thread' && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  });
  await page.selectOption('[data-testid=patient-picker]', patient.fhir_id);
  const row = page.locator(`[data-study-uid="${study.uid}"]`);
  await row.waitFor();
  await displayedAfter(page, () => row.click(), study.uid);
  const mode = await decodeMode(page);
  assert.deepEqual([mode.mode, mode.decoded], ['main-thread', 0], JSON.stringify(mode));
  const instance = series.instances[0];
  const canvas = await compareCanvas(page, expectedGray8(requireEnv('E2E_DATA'), instance.expected), instance.columns, instance.rows);
  assert.equal(canvas.mismatches, 0, JSON.stringify(canvas));
  // The whole series still stacks.
  await page.waitForFunction((n) => document.querySelector('[data-testid=scrollbar]')?.getAttribute('data-loaded') === String(n),
    series.instances.length, { timeout: 60000 });
  // The refused script is the only complaint, and the page logged nothing about it itself.
  assert.deepEqual(problems.filter((p) => !p.includes('decode_worker.js')), []);
  await page.close();
});

/** Compressed (JPEG family or RLE) by the transfer syntax in the file meta. */
function compressed(file) {
  const head = fs.readFileSync(file).subarray(0, 2048).toString('latin1');
  return /1\.2\.840\.10008\.1\.2\.(4\.\d+|5)\0?/.test(head);
}

test('workers: decode throughput, two workers vs one (printed, not asserted)', async () => {
  const files = [...new Set(['E2E_DATA', 'E2E_VIEWER_DATA', 'E2E_SAMPLE_DATA', 'E2E_CORPUS'].flatMap((v) => dicomFiles(process.env[v])))]
    .filter(compressed);
  if (files.length === 0) return;
  const { page } = await demoPage();
  const b64s = files.map((f) => fs.readFileSync(f).toString('base64'));
  const result = await page.evaluate(async (b64s) => {
    const m = await import('/pkg/emr_imaging.js');
    const bytes = b64s.map((b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
    const runs = { 1: [], 2: [] };
    for (let i = 0; i < 3; i++) {
      for (const n of [1, 2]) runs[n].push(await m.__benchWorkerDecode(bytes, n, 4));
    }
    const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
    return { one: median(runs[1]), two: median(runs[2]), cores: navigator.hardwareConcurrency };
  }, b64s);
  console.log(`decode throughput: ${files.length} compressed files × 4, one worker ${result.one.toFixed(1)} ms, `
    + `two workers ${result.two.toFixed(1)} ms: ${(result.one / result.two).toFixed(2)}× (${result.cores} cores)`);
  await page.close();
});
