// The viewer as a clinician uses it, in Chromium against the real Orthanc + Helios FHIR Server
// (through the dev server's proxy): open a study, scroll with the wheel and the keyboard, drag
// W/L, pick a preset, play cine, read the overlays and the report, and see a misfiled study
// withheld. Pixels are compared with renderings computed here from the DICOM files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  artifacts, compareCanvas, displayedAfter, expectedGray8, launch, loadManifest, newPage, requireEnv,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const proxy = () => requireEnv('E2E_PROXY_URL');
const dataDir = () => requireEnv('E2E_VIEWER_DATA');

async function openPage(query = '?manual') {
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy()}/${query}`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
  return { page, problems };
}

/** The PS3.3 C.11.2.1.2.1 LINEAR window, output 0..255, floor(y + 0.5). */
function linear(m, c, w) {
  w = Math.max(w, 1);
  if (m <= c - 0.5 - (w - 1) / 2) return 0;
  if (m > c - 0.5 + (w - 1) / 2) return 255;
  return Math.min(255, Math.max(0, Math.floor(((m - (c - 0.5)) / (w - 1) + 0.5) * 255 + 0.5)));
}

/** Our CT files end with Pixel Data (int16, little endian) and carry Rescale Intercept -1024. */
function renderCt(file, rows, columns, center, width) {
  const bytes = fs.readFileSync(path.join(dataDir(), file));
  const n = rows * columns;
  const pixels = bytes.subarray(bytes.length - 2 * n);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = linear(pixels.readInt16LE(2 * i) - 1024, center, width);
  return out;
}

const overlay = (page, id) => page.locator(`[data-testid=${id}]`).innerText();

async function waitForStack(page, count) {
  await page.waitForFunction((n) => {
    const bar = document.querySelector('[data-testid=scrollbar]');
    return bar?.getAttribute('data-loaded') === String(n) && !document.querySelector('[data-testid=series-progress]');
  }, count, { timeout: 60000 });
}

test('viewer: list, wheel and keyboard scroll, W/L drag and presets, cine, overlays, report', async () => {
  const manifest = loadManifest(dataDir());
  const vera = manifest.patients[0];
  const study = vera.studies[0];
  const slices = study.series[0].instances;
  const { page, problems } = await openPage();

  await page.selectOption('[data-testid=patient-picker]', vera.fhir_id);
  const row = page.locator(`[data-study-uid="${study.uid}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /FHIR \+ PACS/);
  assert.match(await row.innerText(), new RegExp(study.accession));
  await page.screenshot({ path: path.join(artifacts, 'viewer-list.png') });

  const detail = await displayedAfter(page, () => row.click(), study.uid);
  assert.equal(detail.instanceUid, slices[0].sop_instance_uid);
  await waitForStack(page, slices.length);
  const first = slices[0];
  let result = await compareCanvas(page, expectedGray8(dataDir(), first.expected), first.columns, first.rows);
  assert.equal(result.mismatches, 0, JSON.stringify(result));
  assert.match(await overlay(page, 'overlay-image'), new RegExp(`\\(1/${slices.length}\\)`));
  assert.equal(await overlay(page, 'overlay-wl'), 'W 400 L 40');
  assert.match(await overlay(page, 'overlay-patient'), /VIEWER, VERA/);
  assert.match(await overlay(page, 'overlay-patient-id'), new RegExp(vera.mrn));
  assert.equal(await overlay(page, 'overlay-study-date'), '2024-06-01');
  // Axial slices (IOP 1\0\0\0\1\0): R on the left, L on the right, A on top, P below.
  assert.deepEqual(
    await Promise.all(['orient-left', 'orient-right', 'orient-top', 'orient-bottom'].map((id) => overlay(page, id))),
    ['R', 'L', 'A', 'P'],
  );
  assert.match(await overlay(page, 'scale-bar'), /^\d+ mm$/);
  assert.equal(await page.locator('[data-testid=lossy]').count(), 0, 'no LOSSY marker on a lossless image');

  // The wheel moves one slice: the overlay and every pixel follow.
  const viewport = page.locator('[data-testid=viewport]');
  const box = await viewport.boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.wheel(0, 120);
  await page.waitForFunction(() => /\(2\//.test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''));
  assert.match(await overlay(page, 'overlay-position'), /Pos -5 mm/);
  result = await compareCanvas(page, expectedGray8(dataDir(), slices[1].expected), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `slice 2 after the wheel: ${JSON.stringify(result)}`);

  // Keyboard (the viewport takes focus as a user tabs or clicks into it): End goes to the last slice.
  await viewport.focus();
  await page.keyboard.press('End');
  await page.waitForFunction((n) => new RegExp(`\\(${n}/`).test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''), slices.length);
  const last = slices[slices.length - 1];
  result = await compareCanvas(page, expectedGray8(dataDir(), last.expected), last.columns, last.rows);
  assert.equal(result.mismatches, 0, `last slice: ${JSON.stringify(result)}`);
  await page.keyboard.press('Home');
  await page.waitForFunction(() => /\(1\//.test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''));

  // Left-drag W/L: 400/512 HU per px, right widens, up lowers the level: +64 px → W 450, -32 px → L 15.
  await page.mouse.move(cx, cy);
  await page.mouse.down({ button: 'left' });
  await page.mouse.move(cx + 32, cy - 16, { steps: 4 });
  await page.mouse.move(cx + 64, cy - 32, { steps: 4 });
  await page.mouse.up({ button: 'left' });
  assert.equal(await overlay(page, 'overlay-wl'), 'W 450 L 15');
  result = await compareCanvas(page, renderCt(first.file, first.rows, first.columns, 15, 450), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `after the W/L drag: ${JSON.stringify(result)}`);
  // The window stays for the next slice, and that slice is windowed from its decoded frame.
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => /\(2\//.test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''));
  result = await compareCanvas(page, renderCt(slices[1].file, first.rows, first.columns, 15, 450), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `slice 2 under the dragged window: ${JSON.stringify(result)}`);

  // Lung preset.
  const lung = await page.locator('[data-testid=preset] option', { hasText: 'Lung' }).getAttribute('value');
  await page.selectOption('[data-testid=preset]', lung);
  assert.equal(await overlay(page, 'overlay-wl'), 'W 1500 L -600');
  result = await compareCanvas(page, renderCt(slices[1].file, first.rows, first.columns, -600, 1500), first.columns, first.rows);
  assert.equal(result.mismatches, 0, `lung preset: ${JSON.stringify(result)}`);

  // Right-drag zooms (overlay only: the canvas keeps its native pixels); Reset returns to fit.
  const zoomBefore = await overlay(page, 'overlay-zoom');
  await page.mouse.move(cx, cy);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(cx, cy - 80, { steps: 4 });
  await page.mouse.up({ button: 'right' });
  assert.notEqual(await overlay(page, 'overlay-zoom'), zoomBefore);
  await page.click('[data-testid=reset]');
  assert.equal(await overlay(page, 'overlay-zoom'), zoomBefore);
  assert.equal(await overlay(page, 'overlay-wl'), 'W 400 L 40');
  assert.match(await page.locator('[data-testid=preset] option:checked').innerText(), /Soft tissue 40\/400/,
    'the preset menu follows the window');

  // Cine: the slice changes by itself while playing, and stops on pause.
  await page.click('[data-testid=cine]');
  const seen = await page.evaluate(async () => {
    const out = new Set();
    const until = Date.now() + 5000;
    while (out.size < 3 && Date.now() < until) {
      out.add(document.querySelector('[data-testid=overlay-image]').innerText);
      await new Promise((r) => setTimeout(r, 20));
    }
    return [...out];
  });
  await page.click('[data-testid=cine]');
  assert.ok(seen.length >= 3, `cine showed ${JSON.stringify(seen)}`);
  assert.equal(await page.locator('[data-testid=cine]').getAttribute('aria-pressed'), 'false');

  // The report beside the images: conclusion and the plain text, markup shown as text.
  const report = page.locator('[data-testid=report]');
  await report.waitFor();
  const reportText = await report.innerText();
  assert.match(reportText, /No acute findings/);
  assert.match(reportText, /<b>phantom<\/b>/);
  assert.equal(await report.locator('b').count(), 0, 'report text is never parsed as HTML');

  // The series strip has our thumbnail of the middle slice.
  await page.waitForFunction(() => document.querySelector('[data-testid=series-strip] canvas')?.width > 0);
  await page.screenshot({ path: path.join(artifacts, 'viewer-viewport.png') });

  // Dark theme (the host's colour scheme), then a 320 px side panel.
  await page.emulateMedia({ colorScheme: 'dark' });
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector('.emr-imaging')).backgroundColor);
  assert.equal(bg, 'rgb(18, 20, 23)');
  await page.screenshot({ path: path.join(artifacts, 'viewer-dark.png') });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.addStyleTag({ content: '.emr-main{grid-template-columns:1fr 320px !important}.emr-imaging-panel{width:320px;min-width:0 !important}' });
  await page.waitForFunction(() => document.querySelector('.emr-imaging').getBoundingClientRect().width <= 320);
  const canvasBox = await page.locator('[data-testid=viewport-canvas]').boundingBox();
  const hostBox = await page.locator('[data-testid=imaging-host]').boundingBox();
  assert.ok(canvasBox.width > 100 && canvasBox.width <= hostBox.width, `canvas fits the narrow panel: ${JSON.stringify(canvasBox)}`);
  await page.screenshot({ path: path.join(artifacts, 'viewer-narrow.png') });
  assert.deepEqual(problems, []);
  await page.close();
});

test('viewer: a slice dragged to before its series has streamed comes first, then the rest', async () => {
  const manifest = loadManifest(dataDir());
  const vera = manifest.patients[0];
  const study = vera.studies[0];
  const series = study.series[0];
  const slices = series.instances;
  assert.ok(slices.length >= 8, `a series long enough to be streamed: ${slices.length}`);
  const { page, problems } = await openPage();
  const target = slices.length - 2;
  // The series retrieve is held until the wanted slice is on screen.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  let streams = 0;
  const isStream = (url) => url.pathname.endsWith(`/studies/${study.uid}/series/${series.uid}`);
  await page.route(isStream, async (route) => {
    streams += 1;
    await held;
    // A stream the page gave up is gone by now.
    await route.continue().catch(() => {});
  });
  try {
    // The patient's newest study opens by itself; opening it again by its row would race the
    // second load against the click below (a wish made on the first load's stack).
    await displayedAfter(page, () => page.selectOption('[data-testid=patient-picker]', vera.fhir_id), study.uid);
    for (let i = 0; streams === 0 && i < 600; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(streams >= 1, 'the series is asked for in one streamed request');
    const loaded = () => page.getAttribute('[data-testid=scrollbar]', 'data-loaded').then(Number);
    assert.equal(await loaded(), 1, 'only the first image is stacked while the stream is held');

    // The user clicks the scrollbar at the last slice but one.
    const bar = await page.locator('[data-testid=scrollbar]').boundingBox();
    await page.mouse.click(bar.x + bar.width / 2, bar.y + (bar.height * (target + 0.5)) / slices.length);
    await page.waitForFunction((n) => new RegExp(`\\(${n}/`).test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''),
      target + 1, { timeout: 60000 });
    const wanted = slices[target];
    const result = await compareCanvas(page, expectedGray8(dataDir(), wanted.expected), wanted.columns, wanted.rows);
    assert.equal(result.mismatches, 0, `the wanted slice is drawn: ${JSON.stringify(result)}`);
    const early = await loaded();
    assert.ok(early > 1 && early <= 6, `the wanted slice and its neighbours came on their own: ${early}`);
  } finally {
    release();
  }
  // The stream then brings the rest; each slice once, and the wanted one stays on screen.
  await waitForStack(page, slices.length);
  assert.match(await overlay(page, 'overlay-image'), new RegExp(`\\(${target + 1}/${slices.length}\\)`));
  await page.locator('[data-testid=viewport]').focus();
  await page.keyboard.press('Home');
  await page.waitForFunction(() => /\(1\//.test(document.querySelector('[data-testid=overlay-image]')?.innerText ?? ''));
  await page.unroute(isStream);
  assert.deepEqual(problems, []);
  await page.close();
});

test('viewer: a study whose DICOM header names another patient is withheld', async () => {
  const manifest = loadManifest(dataDir());
  const [vera, max] = manifest.patients;
  const { page } = await openPage();
  await page.evaluate(() => {
    window.__errors = [];
    window.__shown = [];
    document.addEventListener('emr-imaging:error', (e) => window.__errors.push(e.detail.code));
    document.addEventListener('emr-imaging:image-displayed', (e) => window.__shown.push(e.detail));
  });
  // First Vera's images, then the switch: nothing of hers may stay on screen.
  await page.selectOption('[data-testid=patient-picker]', vera.fhir_id);
  // Her series stacked whole (the strip's fetch-ahead ended too).
  await page.waitForFunction(() => {
    const bar = document.querySelector('[data-testid=scrollbar]');
    const loaded = bar?.getAttribute('data-loaded');
    return Number(loaded) > 0 && loaded === bar.getAttribute('aria-valuemax') && !document.querySelector('[data-testid=series-progress]');
  }, null, { timeout: 60000 });
  // Her first image is announced once: the stack's own decode of it is not a new image.
  const announced = await page.evaluate(() => window.__shown.map((d) => d.instanceUid));
  assert.equal(announced.length, 1, `announced: ${JSON.stringify(announced)}`);
  await page.evaluate(() => { window.__errors = []; window.__shown = []; });
  await page.selectOption('[data-testid=patient-picker]', max.fhir_id);
  const blocked = page.locator('[data-testid=blocked]');
  await blocked.waitFor({ timeout: 60000 });
  const text = await blocked.innerText();
  assert.match(text, /not shown/);
  assert.match(text, new RegExp(vera.mrn), 'the message names the header Patient ID');
  assert.equal(await page.locator('[data-testid=viewport-canvas]').evaluate((c) => c.width), 0, 'no pixels on the canvas');
  assert.equal(await page.locator('[data-testid=overlay]').count(), 0, 'no overlay of the other patient');
  assert.match(await page.locator('[data-testid=patient-banner]').innerText(), /MISMATCH, Max/);
  const events = await page.evaluate(() => ({ errors: window.__errors, shown: window.__shown.map((d) => d.studyUid) }));
  assert.deepEqual(events.shown, [], 'no image-displayed event for the misfiled study');
  assert.ok(events.errors.includes('patient-mismatch'), `errors: ${JSON.stringify(events.errors)}`);
  await page.screenshot({ path: path.join(artifacts, 'viewer-mismatch.png') });
  await page.close();
});

test('viewer: a patient the FHIR server does not know shows an error state', async () => {
  const { page } = await openPage();
  await page.evaluate(() => window.emrDemo.selectPatient('no-such-patient-viewer'));
  await page.locator('[data-testid=study-list-state]').waitFor();
  assert.match(await page.locator('[data-testid=study-list-state]').innerText(), /could not be loaded/);
  assert.match(await page.locator('[data-testid=status]').innerText(), /^Error:/);
  assert.match(await page.locator('[data-testid=patient-banner]').innerText(), /No patient selected/);
  await page.screenshot({ path: path.join(artifacts, 'viewer-error.png') });
  await page.close();
});

test('study list: keyboard navigation, modality and date filters, date order', async () => {
  const dataDir = requireEnv('E2E_DATA');
  const anna = loadManifest(dataDir).patients[0];
  const [ct, mr, prior] = anna.studies; // 2024 CT, 2023 MR, the CT's prior a year before
  const { page, problems } = await openPage();
  await page.selectOption('[data-testid=patient-picker]', anna.fhir_id);
  await page.locator(`[data-study-uid="${mr.uid}"]`).waitFor();
  const order = () => page.locator('[data-study-uid]').evaluateAll((rows) => rows.map((r) => r.dataset.studyUid));
  assert.deepEqual(await order(), [ct.uid, mr.uid, prior.uid], 'newest first');
  await page.click('[data-testid=sort-toggle]');
  assert.deepEqual(await order(), [prior.uid, mr.uid, ct.uid], 'oldest first');
  await page.click('[data-testid=sort-toggle]');

  // Roving tabindex: one row in the tab order; arrows move, Enter opens.
  assert.equal(await page.locator('[data-study-uid][tabindex="0"]').count(), 1);
  await page.locator(`[data-study-uid="${ct.uid}"]`).focus();
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.studyUid), mr.uid);
  const detail = await displayedAfter(page, () => page.keyboard.press('Enter'), mr.uid);
  assert.equal(detail.studyUid, mr.uid);
  assert.equal(await page.locator(`[data-study-uid="${mr.uid}"]`).getAttribute('aria-selected'), 'true');

  await page.selectOption('[data-testid=modality-filter]', 'CT');
  assert.deepEqual(await order(), [ct.uid, prior.uid]);
  await page.selectOption('[data-testid=modality-filter]', '');
  await page.fill('[data-testid=date-to]', '2023-12-31');
  assert.deepEqual(await order(), [mr.uid, prior.uid]);
  await page.fill('[data-testid=date-from]', '2024-01-01');
  assert.deepEqual(await order(), []);
  assert.match(await page.locator('[data-testid=study-list-state]').innerText(), /No studies match/);
  assert.deepEqual(problems, []);
  await page.close();
});
