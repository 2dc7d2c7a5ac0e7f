// Shared pieces of the end-to-end tests: the browser, the test data, pixel comparison.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const artifacts = process.env.E2E_ARTIFACTS ?? path.resolve('artifacts');
fs.mkdirSync(artifacts, { recursive: true });

export function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`cargo xtask test\``);
  return value;
}

/** Debian's chromium, never a downloaded browser. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that fails the test on any console error or uncaught exception. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => {
    problems.push(`pageerror: ${e.message}`);
    // Where it came from, for the log (the assertion compares messages only).
    console.error(`pageerror: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 12).join('\n')}`);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // A failed load says which resource only in its location.
    const where = m.text().startsWith('Failed to load resource') ? ` (${m.location()?.url ?? '?'})` : '';
    problems.push(`console: ${m.text()}${where}`);
  });
  return { page, problems };
}

/** The data set the test tooling generated and loaded into the servers. */
export function loadManifest(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

export function expectedGray8(dir, file) {
  return fs.readFileSync(path.join(dir, file));
}

/**
 * Runs `action` and waits for the `emr-imaging:image-displayed` event that follows it (for
 * `studyUid` when given: an earlier load may still be finishing). An `emr-imaging:error` fails.
 */
export async function displayedAfter(page, action, studyUid = null) {
  await page.evaluate((uid) => {
    window.__displayed = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no image-displayed event within 60 s')), 60000);
      const onShown = (e) => {
        if (uid && e.detail.studyUid !== uid) return;
        clearTimeout(timer);
        document.removeEventListener('emr-imaging:image-displayed', onShown);
        resolve(e.detail);
      };
      document.addEventListener('emr-imaging:image-displayed', onShown);
      document.addEventListener('emr-imaging:error', (e) => {
        if (e.detail.code === 'superseded') return;
        clearTimeout(timer);
        reject(new Error(`${e.detail.code}: ${e.detail.message}`));
      }, { once: true });
    });
  }, studyUid);
  await action();
  return page.evaluate(() => window.__displayed);
}

/**
 * Opens the demo page without its automatic patient, picks `patient`, clicks `study` in the list
 * and waits until its first image is displayed.
 */
export async function openStudyInDemo(page, patient, study) {
  await page.goto(`${requireEnv('E2E_PROXY_URL')}/?manual`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
  await page.selectOption('[data-testid=patient-picker]', patient.fhir_id);
  const row = page.locator(`[data-study-uid="${study.uid}"]`);
  await row.waitFor();
  await displayedAfter(page, () => row.click(), study.uid);
}

/** Resolves once the viewport shows some image. */
export async function anyImageShown(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid=viewport-canvas]')?.width > 0, null, { timeout: 60000 });
}

/**
 * Compares what the viewport canvas shows with the expected 8-bit rendering, pixel by pixel, in
 * the page (the RGBA never crosses the wire). Gray is drawn as white with the level as alpha over
 * the canvas's own black background, so the pixel shown is each channel × alpha / 255; that
 * background must be black (`backdrop` in the result; `mismatches` is −2 when it is not).
 * Returns {width, height, mismatches, first, backdrop}.
 */
export async function compareCanvas(page, expected, width, height) {
  return page.evaluate(({ b64, width, height }) => {
    const canvas = document.querySelector('[data-testid=viewport-canvas]');
    if (!canvas || canvas.width !== width || canvas.height !== height) {
      return { width: canvas?.width, height: canvas?.height, mismatches: -1 };
    }
    const backdrop = getComputedStyle(canvas).backgroundColor;
    if (backdrop !== 'rgb(0, 0, 0)') return { width, height, mismatches: -2, backdrop };
    const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    const bin = atob(b64);
    let mismatches = 0;
    let first = null;
    for (let i = 0; i < width * height; i++) {
      const want = bin.charCodeAt(i);
      const a = rgba[4 * i + 3];
      const [r, g, b] = [0, 1, 2].map((c) => Math.round((rgba[4 * i + c] * a) / 255));
      if (r !== want || g !== want || b !== want) {
        if (!first) first = { index: i, want, shown: [r, g, b], stored: Array.from(rgba.slice(4 * i, 4 * i + 4)) };
        mismatches++;
      }
    }
    return { width, height, mismatches, first, backdrop };
  }, { b64: expected.toString('base64'), width, height });
}

/**
 * How far the image in `<img selector>` (already loaded) is from the expected 8-bit rendering:
 * {width, height, mean, max, over} with `over` the number of pixels off by more than 16 levels.
 * For JPEGs, which are close to the rendering but not equal.
 */
export async function compareImg(page, selector, expected, width, height) {
  return page.evaluate(async ({ selector, b64, width, height }) => {
    const img = document.querySelector(selector);
    await img.decode();
    if (img.naturalWidth !== width || img.naturalHeight !== height) {
      return { width: img.naturalWidth, height: img.naturalHeight, mean: -1, max: -1, over: -1 };
    }
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const bin = atob(b64);
    let sum = 0, max = 0, over = 0;
    for (let i = 0; i < width * height; i++) {
      const want = bin.charCodeAt(i);
      const got = (rgba[4 * i] + rgba[4 * i + 1] + rgba[4 * i + 2]) / 3;
      const d = Math.abs(got - want);
      sum += d;
      if (d > max) max = d;
      if (d > 16) over++;
    }
    return { width, height, mean: sum / (width * height), max, over };
  }, { selector, b64: expected.toString('base64'), width, height });
}

/** Every request the page makes, with whether it carried an Authorization header. */
export function recordRequests(page) {
  const seen = [];
  page.on('request', async (r) => {
    const entry = { url: r.url(), method: r.method(), authorization: null };
    seen.push(entry);
    entry.authorization = (await r.allHeaders().catch(() => ({}))).authorization ?? null;
  });
  return seen;
}

/** The dev server's journal of requests to it (`/__devserver/requests`). */
export async function journal(baseUrl) {
  return (await fetch(`${baseUrl}/__devserver/requests`)).json();
}

export async function clearJournal(baseUrl) {
  await fetch(`${baseUrl}/__devserver/requests`, { method: 'DELETE' });
}

/**
 * Waits until the page's background loading is over: the dev server saw no API request for
 * `quietMs` (the journal is cleared, then read after the pause), or `limitMs` passed.
 */
export async function settled(baseUrl, quietMs = 500, limitMs = 30000) {
  const start = Date.now();
  for (;;) {
    await clearJournal(baseUrl);
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const seen = (await journal(baseUrl)).filter((r) => r.path.startsWith('/fhir/') || r.path.startsWith('/dicom-web/'));
    if (seen.length === 0 || Date.now() - start > limitMs) return;
  }
}

/** The first CT study of the manifest: its patient, the study and its first series. */
export function ctOf(manifest) {
  for (const patient of manifest.patients) {
    for (const study of patient.studies) {
      if (study.series[0]?.modality === 'CT') return { patient, study, series: study.series[0] };
    }
  }
  throw new Error('no CT study in the manifest');
}

/** How many records the page's IndexedDB `db` holds in `store` (0 when neither exists yet). */
export function idbCount(page, db, store) {
  return page.evaluate(({ db, store }) => new Promise((resolve, reject) => {
    const open = indexedDB.open(db);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const opened = open.result;
      if (!opened.objectStoreNames.contains(store)) { opened.close(); resolve(0); return; }
      const count = opened.transaction(store).objectStore(store).count();
      count.onsuccess = () => { opened.close(); resolve(count.result); };
      count.onerror = () => reject(count.error);
    };
  }), { db, store });
}
