// Touch, as on a ward tablet, in Chromium's touch emulation against the real Orthanc + Helios
// FHIR Server: a pinch zooms about the fingers, two fingers pan, one finger drives the tool
// (a length across the chest phantom's 100.0 mm ruler), a double tap goes back to fit, and a
// pinch that began as a one-finger drawing leaves nothing drawn.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, ctOf, launch, loadManifest, newPage, openStudyInDemo, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const zoomPercent = async (page) => Number((await page.locator('[data-testid=overlay-zoom]').innerText()).match(/(\d+)%/)[1]);
const measurements = (page) => page.evaluate(() => window.emrDemo.viewer.getMeasurements());

test('touch: pinch zoom, two-finger pan, one-finger length, double tap to fit', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study, series } = ctOf(manifest);
  const { page, problems } = await newPage(browser, { hasTouch: true });
  await openStudyInDemo(page, patient, study);

  const cdp = await page.context().newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: points.map(([x, y], id) => ({ x, y, id, radiusX: 2, radiusY: 2, force: 1 })),
  });
  /** Fingers from `from` to `to` (arrays of [x, y]) in `steps` moves. */
  async function gesture(from, to, steps = 8) {
    await touch('touchStart', from);
    for (let i = 1; i <= steps; i++) {
      await touch('touchMove', from.map(([x, y], f) => [x + ((to[f][0] - x) * i) / steps, y + ((to[f][1] - y) * i) / steps]));
    }
    await touch('touchEnd', []);
  }
  const vp = await page.locator('[data-testid=viewport]').boundingBox();
  const [cx, cy] = [vp.x + vp.width / 2, vp.y + vp.height / 2];

  // The length tool is on: the first finger of a pinch starts a length, the second turns the
  // gesture into a pinch and the length goes.
  await page.locator('[data-testid=tool-length]').tap();
  const fit = await zoomPercent(page);
  await gesture([[cx - 40, cy], [cx + 40, cy]], [[cx - 80, cy], [cx + 80, cy]]);
  const pinched = await zoomPercent(page);
  assert.ok(Math.abs(pinched / fit - 2) < 0.1, `pinch from 80 to 160 px: zoom ${fit}% → ${pinched}%`);
  assert.deepEqual(await measurements(page), [], 'a pinch draws nothing');
  console.log(`pinch: zoom ${fit}% → ${pinched}%`);

  // Two fingers moved together pan the image with them.
  const before = await page.locator('[data-testid=viewport-canvas]').boundingBox();
  await gesture([[cx - 40, cy], [cx + 40, cy]], [[cx - 40, cy + 60], [cx + 40, cy + 60]]);
  const after = await page.locator('[data-testid=viewport-canvas]').boundingBox();
  assert.ok(Math.abs(after.y - before.y - 60) < 2 && Math.abs(after.x - before.x) < 2, `pan ${after.x - before.x}, ${after.y - before.y}`);
  assert.equal(await zoomPercent(page), pinched, 'a parallel move does not zoom');
  await page.screenshot({ path: path.join(artifacts, 'touch-pinch.png') });

  // A double tap goes back to fit.
  const tapAt = [vp.x + 30, vp.y + vp.height - 30];
  await page.touchscreen.tap(...tapAt);
  await page.touchscreen.tap(...tapAt);
  await page.waitForFunction((z) => document.querySelector('[data-testid=overlay-zoom]').innerText.includes(`${z}%`), fit);
  const box = await page.locator('[data-testid=viewport-canvas]').boundingBox();
  assert.ok(Math.abs(box.x + box.width / 2 - cx) < 2 && Math.abs(box.y + box.height / 2 - cy) < 2, 'centred again');
  assert.deepEqual(await measurements(page), [], 'taps with the length tool draw nothing');

  // One finger drives the tool: a length across the ruler.
  const layer = await page.locator('[data-testid=measure-layer]').boundingBox();
  const screen = ({ x, y }) => [layer.x + (x / 512) * layer.width, layer.y + (y / 512) * layer.height];
  const [a, b] = series.landmarks.ruler.points.map(screen);
  await gesture([a], [b]);
  const [m] = await measurements(page);
  assert.equal(m?.kind, 'length');
  assert.ok(Math.abs(m.values.length - 100) <= 0.5, `${m.values.length} mm by touch`);
  console.log(`ruler by touch: ${m.values.length.toFixed(3)} mm`);
  await page.screenshot({ path: path.join(artifacts, 'touch-length.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
