// A Grayscale Softcopy Presentation State applied in Chromium against the real Orthanc + Helios
// FHIR Server: the chest radiograph's state turns it a quarter clockwise and flips it (a
// transpose, PS3.3 C.10.6), sets its own window, zooms to its displayed area, and draws a
// polyline, a circle, a point and two texts, and hides what its display shutter (a rectangle,
// a circle and a polygon) leaves out with the shutter's gray. A length drawn on the turned image still reads
// the ruler's 100.0 mm; removing the state, or switching patient, gives the plain image back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, compareCanvas, expectedGray8, launch, loadManifest, newPage, openStudyInDemo, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const measurements = (page) => page.evaluate(() => window.emrDemo.viewer.getMeasurements());
const zoomPercent = async (page) => Number((await page.locator('[data-testid=overlay-zoom]').innerText()).match(/(\d+)%/)[1]);
/** The orientation letters at the left, right, top and bottom edges. */
const letters = (page) => page.evaluate(() => ['left', 'right', 'top', 'bottom']
  .map((edge) => document.querySelector(`[data-testid=orient-${edge}]`)?.innerText ?? ''));
const rect = (page, selector) => page.evaluate((s) => {
  const r = document.querySelector(s).getBoundingClientRect();
  return { left: r.left, top: r.top, width: r.width, height: r.height, cx: r.left + r.width / 2, cy: r.top + r.height / 2 };
}, selector);

/** The gray level the viewport canvas shows at 1-based `column`, `row` (white × alpha over black). */
const shownLevel = (page, column, row) => page.evaluate(([x, y]) => {
  const [r, , , a] = document.querySelector('[data-testid=viewport-canvas]').getContext('2d').getImageData(x - 1, y - 1, 1, 1).data;
  return Math.round((r * a) / 255);
}, [column, row]);

/**
 * Screen position of image point `p` (pixel coordinates) under the state's transpose: the
 * image's rows run across the screen and its columns down, worked out here independently of
 * the viewer's own mapping.
 */
async function transposed(page, { x, y }, columns, rows) {
  const box = await rect(page, '[data-testid=measure-layer]');
  return { x: box.left + (y / rows) * box.width, y: box.top + (x / columns) * box.height };
}

test('a presentation state: window, quarter turn and flip, displayed area, graphics and text; removed again', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const found = manifest.patients.flatMap((patient) => patient.studies.map((study) => ({ patient, study })))
    .find(({ study }) => study.series.some((se) => se.modality === 'PR'));
  assert.ok(found, 'the test data has a presentation state');
  const { patient, study } = found;
  const [image, pr] = [study.series[0], study.series.find((se) => se.modality === 'PR')];
  const facts = pr.landmarks;
  const { columns, rows } = image.instances[0];
  const { page, problems } = await newPage(browser);
  await openStudyInDemo(page, patient, study);
  const plain = await rect(page, '[data-testid=viewport-canvas]');
  const plainWl = await page.locator('[data-testid=overlay-wl]').innerText();
  assert.ok(Math.abs(plain.height / plain.width - (rows * 1.5) / columns) < 0.01, 'upright, rows 1.5 times as tall as columns');
  // A PA radiograph's Patient Orientation L\F: the patient's right on the viewer's left.
  assert.deepEqual(await letters(page), ['R', 'L', 'H', 'F']);

  await page.click(`[data-state-series-uid="${pr.uid}"]`);
  const badge = page.locator('[data-testid=state-applied]');
  await badge.waitFor();
  assert.ok((await badge.innerText()).includes(facts.label), await badge.innerText());
  // The state's window, in the overlay.
  await page.waitForFunction((w) => document.querySelector('[data-testid=overlay-wl]').innerText === w,
    `W ${facts.window.width} L ${facts.window.center}`);
  // Every pixel: the state's window inside the shutter, the shutter's level outside it.
  const dataDir = requireEnv('E2E_DATA');
  const shuttered = expectedGray8(dataDir, pr.instances[0].expected);
  const canvas = await compareCanvas(page, shuttered, columns, rows);
  assert.equal(canvas.mismatches, 0, `window and shutter: ${JSON.stringify(canvas)}`);
  const { shutter } = facts;
  const plainGray = expectedGray8(dataDir, image.instances[0].expected);
  // Outside: left of the rectangle, in the circle's corner, in the polygon's cut; inside: the
  // circle's centre and a point just past the cut.
  for (const [column, row] of [[shutter.rectangle[0] - 1, 240], [60, 30], [90, 100]]) {
    assert.equal(await shownLevel(page, column, row), shutter.level, `hidden ${column},${row}`);
  }
  for (const [column, row] of [[shutter.circle.column, shutter.circle.row], [110, 100]]) {
    const want = shuttered[(row - 1) * columns + column - 1];
    assert.equal(await shownLevel(page, column, row), want, `shown ${column},${row}`);
    assert.notEqual(want, shutter.level, `${column},${row} is image, not shutter`);
  }
  console.log(`# presentation state shutter: level ${shutter.level}, ${columns * rows} pixels, 0 mismatches`);
  // Turned a quarter: the image's rows (1.5 times as tall) now lie across.
  const turned = await rect(page, '[data-testid=viewport-canvas]');
  assert.ok(Math.abs(turned.width / turned.height - (rows * 1.5) / columns) < 0.01, `turned box ${turned.width}×${turned.height}`);
  // Transposed: the image's left edge (R) is now on top, its top (H) on the left.
  assert.deepEqual(await letters(page), ['H', 'F', 'R', 'L']);
  const layer = await rect(page, '[data-testid=measure-layer]');
  assert.ok(Math.abs(layer.width - turned.width) < 0.5 && Math.abs(layer.height - turned.height) < 0.5, 'the layer turns with the canvas');

  // Zoomed to the displayed area (columns 101–400, rows 81–400), its centre in the viewport's.
  const viewport = await rect(page, '[data-testid=viewport]');
  const areaColumns = facts.area.last.column - facts.area.first.column + 1;
  const areaRows = facts.area.last.row - facts.area.first.row + 1;
  const shownZoom = Math.min(viewport.width / (areaRows * 1.5), viewport.height / areaColumns);
  const zoom = await zoomPercent(page);
  assert.ok(Math.abs(zoom - shownZoom * 100) <= 1, `zoom ${zoom} %, the area fits at ${(shownZoom * 100).toFixed(1)} %`);
  const point = await rect(page, '[data-testid=state-graphic][data-shape=point]');
  assert.ok(Math.abs(point.cx - viewport.cx) < 2 && Math.abs(point.cy - viewport.cy) < 2,
    `the area's centre at ${point.cx},${point.cy}, the viewport's at ${viewport.cx},${viewport.cy}`);
  const centre = await transposed(page, facts.centre, columns, rows);
  assert.ok(Math.abs(point.cx - centre.x) < 2 && Math.abs(point.cy - centre.y) < 2, 'the point sits where the transpose puts it');

  // The graphics and texts; text upright and in the DOM.
  assert.equal(await page.locator('[data-testid=state-graphic][data-shape=polyline]').count(), 1);
  assert.equal(await page.locator('[data-testid=state-graphic][data-shape=circle]').count(), 1);
  const texts = await page.locator('[data-testid=state-text]').allInnerTexts();
  assert.deepEqual(texts, [facts.rulerText, facts.cornerText]);
  const rulerText = await rect(page, '[data-testid=state-text]');
  assert.ok(rulerText.width > rulerText.height * 3, `the text reads across: ${rulerText.width}×${rulerText.height}`);
  // The DISPLAY-unit text is at the displayed area's top left, whatever the turn.
  const corner = await page.locator('[data-testid=state-text]').nth(1).boundingBox();
  const areaBox = { left: viewport.cx - (areaRows * 1.5 * shownZoom) / 2, top: viewport.cy - (areaColumns * shownZoom) / 2 };
  assert.ok(corner.x + corner.width / 2 < areaBox.left + 0.25 * areaRows * 1.5 * shownZoom
    && corner.y + corner.height / 2 < areaBox.top + 0.1 * areaColumns * shownZoom, `corner text at ${corner.x},${corner.y}`);
  await page.screenshot({ path: path.join(artifacts, 'presentation-state.png') });

  // Fit shows the whole turned image (the ruler lies outside the area); its rows lie across.
  await page.click('[data-testid=fit]');
  const fitZoom = Math.min(viewport.width / (rows * 1.5), viewport.height / columns);
  await page.waitForFunction((z) => Math.abs(Number(document.querySelector('[data-testid=overlay-zoom]').innerText.match(/(\d+)%/)[1]) - z) <= 1,
    fitZoom * 100);

  // A length across the ruler on the turned image: the pointer is mapped back through the turn.
  const { ruler } = image.landmarks;
  const [a, b] = [await transposed(page, ruler.points[0], columns, rows), await transposed(page, ruler.points[1], columns, rows)];
  await page.click('[data-testid=tool-length]');
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 3 });
  await page.mouse.move(b.x, b.y, { steps: 3 });
  await page.mouse.up();
  const [m] = await measurements(page);
  assert.ok(Math.abs(m.points[0].x - ruler.points[0].x) < 1 && Math.abs(m.points[0].y - ruler.points[0].y) < 1,
    `drawn from ${JSON.stringify(m.points[0])}, the ruler's dot is at ${JSON.stringify(ruler.points[0])}`);
  assert.ok(Math.abs(m.values.length - ruler.mm) <= 0.5, `${m.values.length} mm`);
  console.log(`# presentation state: zoom ${zoom} %, ruler ${m.values.length.toFixed(3)} mm on the turned image`);
  // The label reads across too.
  const label = await page.locator('[data-testid=measure-label]').boundingBox();
  assert.ok(label.width > label.height * 2, `measurement label ${label.width}×${label.height}`);

  // Removed: upright, its own window, no badge and no graphics; the measurement stays.
  await page.click('[data-testid=state-remove]');
  await badge.waitFor({ state: 'detached' });
  await page.waitForFunction((w) => document.querySelector('[data-testid=overlay-wl]').innerText === w, plainWl);
  const unshuttered = await compareCanvas(page, plainGray, columns, rows);
  assert.equal(unshuttered.mismatches, 0, `no shutter once removed: ${JSON.stringify(unshuttered)}`);
  const back = await rect(page, '[data-testid=viewport-canvas]');
  assert.ok(Math.abs(back.height / back.width - (rows * 1.5) / columns) < 0.01, 'upright again');
  assert.deepEqual(await letters(page), ['R', 'L', 'H', 'F']);
  assert.equal(await page.locator('[data-testid=state-graphic], [data-testid=state-text]').count(), 0);
  assert.equal((await measurements(page)).length, 1);

  // Applied again, then another patient: nothing of the state or the image remains.
  await page.click(`[data-state-series-uid="${pr.uid}"]`);
  await badge.waitFor();
  const other = manifest.patients.find((p) => p.fhir_id !== patient.fhir_id);
  await page.selectOption('[data-testid=patient-picker]', other.fhir_id);
  await page.waitForFunction(() => !document.querySelector('[data-testid=state-applied], [data-testid=state-graphic]'));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a presentation state with a VOI LUT table: every pixel through the table, clamped at both ends', async () => {
  const dataDir = requireEnv('E2E_DATA');
  const manifest = loadManifest(dataDir);
  const found = manifest.patients.flatMap((patient) => patient.studies.map((study) => ({ patient, study })))
    .find(({ study }) => study.series.some((se) => se.landmarks?.label === 'RULER_TABLE'));
  assert.ok(found, 'the test data has a VOI LUT table state');
  const { patient, study } = found;
  const [image, pr] = [study.series[0], study.series.find((se) => se.landmarks?.label === 'RULER_TABLE')];
  const facts = pr.landmarks;
  const { columns, rows } = image.instances[0];
  const { page, problems } = await newPage(browser);
  await openStudyInDemo(page, patient, study);
  await page.click(`[data-state-series-uid="${pr.uid}"]`);
  await page.locator('[data-testid=state-applied]').waitFor();
  // No width or level: the table's own name.
  await page.waitForFunction((w) => document.querySelector('[data-testid=overlay-wl]').innerText === w, `VOI LUT ${facts.explanation}`);
  const expected = expectedGray8(dataDir, pr.instances[0].expected);
  const canvas = await compareCanvas(page, expected, columns, rows);
  assert.equal(canvas.mismatches, 0, `through the table: ${JSON.stringify(canvas)}`);
  // Background below the first mapped value (black), lung, body, spine, and a ruler dot past
  // the last (white), at known pixels.
  const { ruler } = image.landmarks;
  const at = [[5, 5], [176, 230], [150, 420], [256, 250], [Math.floor(ruler.points[0].x), Math.floor(ruler.points[0].y)]];
  const shown = [];
  for (const [x, y] of at) shown.push(await shownLevel(page, x + 1, y + 1));
  assert.deepEqual(shown, facts.levels.map((l) => l.level));
  assert.deepEqual(shown, at.map(([x, y]) => expected[y * columns + x]));
  console.log(`# presentation state VOI LUT: levels ${shown.join(', ')} for stored ${facts.levels.map((l) => l.stored).join(', ')}, ${columns * rows} pixels, 0 mismatches`);
  // A window drag replaces the table with a window.
  await page.click('[data-testid=tool-window]').catch(() => {});
  const box = await page.locator('[data-testid=viewport]').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 20, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => /^W /.test(document.querySelector('[data-testid=overlay-wl]').innerText));
  assert.deepEqual(problems, []);
  await page.close();
});
