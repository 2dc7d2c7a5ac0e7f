// Measurements as a clinician draws them, in Chromium against the real Orthanc + Helios FHIR
// Server: a length across the chest phantom's ruler (two dots exactly 100.0 mm apart) at three
// zoom levels, an ellipse in its insert of known HU and noise, an angle, an arrow, a text label; moving,
// nudging and deleting; and nothing left after a patient switch.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, ctOf, launch, loadManifest, newPage, openStudyInDemo, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Screen coordinates of image pixel coordinates `p`, from the measurement layer's box. */
async function screenOf(page, p) {
  return page.evaluate(({ x, y }) => {
    const box = document.querySelector('[data-testid=measure-layer]').getBoundingClientRect();
    const canvas = document.querySelector('[data-testid=viewport-canvas]');
    return { x: box.left + (x / canvas.width) * box.width, y: box.top + (y / canvas.height) * box.height };
  }, p);
}

async function drag(page, from, to) {
  const [a, b] = [await screenOf(page, from), await screenOf(page, to)];
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 3 });
  await page.mouse.move(b.x, b.y, { steps: 3 });
  await page.mouse.up();
}

const measurements = (page) => page.evaluate(() => window.emrDemo.viewer.getMeasurements());
const zoomText = (page) => page.locator('[data-testid=overlay-zoom]').innerText();

/** A length across the series' ruler (two dots `ruler.mm` apart) at fit, 1:1 and 80 % of 1:1: each reads `ruler.mm` ± 0.5 with the given calibration kind, and stays on its pixels. */
async function rulerAtThreeZooms(page, series, calibration) {
  const { ruler } = series.landmarks;
  await page.click('[data-testid=tool-length]');
  const zooms = [];
  const setZoom = [
    async () => {},
    async () => page.click('[data-testid=one-to-one]'),
    async () => {
      const box = await page.locator('[data-testid=viewport]').boundingBox();
      // Down 45 px: out to 80 % of 1:1 (e^-45/200), the ruler still in view.
      await page.mouse.move(box.x + 40, box.y + 40);
      await page.mouse.down({ button: 'right' });
      await page.mouse.move(box.x + 40, box.y + 85, { steps: 4 });
      await page.mouse.up({ button: 'right' });
    },
  ];
  for (const [i, zoom] of setZoom.entries()) {
    await zoom();
    zooms.push(await zoomText(page));
    if (i > 0) {
      // The length drawn at the last zoom stayed on its pixels: its label sits beside its end.
      // Label and layer read in one go, once the zoom's re-render has settled.
      const beside = ({ x, y, report }) => {
        const label = document.querySelector('[data-testid=measure-label]').getBoundingClientRect();
        const box = document.querySelector('[data-testid=measure-layer]').getBoundingClientRect();
        const canvas = document.querySelector('[data-testid=viewport-canvas]');
        const end = { x: box.left + (x / canvas.width) * box.width, y: box.top + (y / canvas.height) * box.height };
        const ok = Math.abs(label.x - (end.x + 8)) < 2 && Math.abs(label.y + label.height / 2 - end.y) < 2;
        return report ? `label at ${label.x},${label.y} (${label.height} px tall), end point at ${end.x},${end.y}` : ok;
      };
      const placed = await page.waitForFunction(beside, { ...ruler.points[1], report: false }, { timeout: 5000 }).then(() => true, () => false);
      assert.ok(placed, `at ${zooms[i]}: ${await page.evaluate(beside, { ...ruler.points[1], report: true })}`);
      // Pressing on it selects it (whatever the tool); Delete removes it.
      const on = await screenOf(page, { x: (ruler.points[0].x + ruler.points[1].x) / 2, y: (ruler.points[0].y + ruler.points[1].y) / 2 });
      await page.mouse.click(on.x, on.y);
      await page.keyboard.press('Delete');
      assert.deepEqual(await measurements(page), []);
    }
    await drag(page, ruler.points[0], ruler.points[1]);
    const all = await measurements(page);
    assert.equal(all.length, 1);
    const m = all[0];
    assert.equal(m.kind, 'length');
    assert.equal(m.instanceUid, series.instances[0].sop_instance_uid);
    assert.equal(m.values.unit, 'mm');
    assert.ok(Math.abs(m.values.length - ruler.mm) <= 0.5, `at ${zooms[i]}: ${m.values.length} mm`);
    assert.equal(m.values.calibration.kind, calibration);
    assert.equal(m.values.caveat, null);
    console.log(`${series.modality} ruler at ${zooms[i]}: ${m.values.length.toFixed(3)} mm (label ${m.label})`);
  }
  assert.equal(new Set(zooms).size, 3, `three zoom levels: ${zooms}`);
}

test('measurements: 100.0 mm at three zooms, the insert\'s HU, an angle, an arrow; move, nudge, delete; gone after a switch', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study, series } = ctOf(manifest);
  const { ruler, insert } = series.landmarks;
  const { page, problems } = await newPage(browser);
  await openStudyInDemo(page, patient, study);

  // Length across the ruler at three zoom levels: fit, 1:1, and out with the zoom tool.
  await rulerAtThreeZooms(page, series, 'patient');
  await page.screenshot({ path: path.join(artifacts, 'measure-length.png') });

  // Back to fit for the rest.
  await page.click('[data-testid=fit]');
  // An ellipse inside the insert: its statistics are of the HU values, not the rendering.
  await page.click('[data-testid=tool-ellipse]');
  const r = insert.radius * 0.7;
  await drag(page, { x: insert.center.x - r, y: insert.center.y - r }, { x: insert.center.x + r, y: insert.center.y + r });
  const roi = (await measurements(page)).at(-1);
  assert.equal(roi.kind, 'ellipse');
  assert.equal(roi.values.valueUnit, 'HU');
  assert.equal(roi.values.unit, 'mm²');
  assert.ok(Math.abs(roi.values.stats.mean - insert.mean) <= 0.5, `mean ${roi.values.stats.mean}`);
  assert.ok(Math.abs(roi.values.stats.sd - insert.sd) <= 0.1 * insert.sd, `SD ${roi.values.stats.sd} vs ${insert.sd}`);
  assert.ok(roi.values.stats.min >= 52 && roi.values.stats.max <= 68, JSON.stringify(roi.values.stats));
  const area = Math.PI * (r * 0.7) ** 2;
  assert.ok(Math.abs(roi.values.area - area) / area < 0.02, `area ${roi.values.area} vs ${area}`);
  console.log(`insert ROI: mean ${roi.values.stats.mean.toFixed(2)} HU, SD ${roi.values.stats.sd.toFixed(2)} HU over ${roi.values.stats.pixels} px`);
  await page.screenshot({ path: path.join(artifacts, 'measure-ellipse.png') });

  // A right angle: one drag for the first ray, a click for the other end.
  await page.click('[data-testid=tool-angle]');
  const vertex = { x: 120, y: 420 };
  await drag(page, { x: 120, y: 360 }, vertex);
  const third = await screenOf(page, { x: 200, y: 420 });
  await page.mouse.click(third.x, third.y);
  const angle = (await measurements(page)).at(-1);
  assert.equal(angle.kind, 'angle');
  assert.ok(Math.abs(angle.values.angleDegrees - 90) < 0.5, `${angle.values.angleDegrees}°`);
  await page.screenshot({ path: path.join(artifacts, 'measure-angle.png') });

  // An arrow annotation; a rectangle.
  await page.click('[data-testid=tool-arrow]');
  await drag(page, { x: 380, y: 120 }, { x: 330, y: 180 });
  assert.equal((await measurements(page)).at(-1).kind, 'arrow');
  await page.click('[data-testid=tool-rectangle]');
  await drag(page, { x: 300, y: 250 }, { x: 340, y: 280 });
  const rect = (await measurements(page)).at(-1);
  assert.equal(rect.kind, 'rectangle');
  assert.ok(Math.abs(rect.values.area - 40 * 30 * 0.49) < 1e-6 * 588 + 2, `rectangle ${rect.values.area} mm²`);
  await page.screenshot({ path: path.join(artifacts, 'measure-arrow-rectangle.png') });

  // A text label: click, type, Enter. Markup stays text; Escape while editing keeps the words.
  await page.click('[data-testid=tool-text]');
  // Clear of every shape drawn so far (pressing on one would pick it instead).
  const at = await screenOf(page, { x: 400, y: 440 });
  await page.mouse.click(at.x, at.y);
  const input = page.locator('[data-testid=text-input]');
  await input.waitFor();
  await page.keyboard.type('<b>nodule</b> 8 mm');
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'detached' });
  let label = (await measurements(page)).at(-1);
  assert.equal(label.kind, 'text');
  assert.equal(label.text, '<b>nodule</b> 8 mm');
  assert.equal(label.label, label.text);
  assert.ok(Math.abs(label.points[0].x - 400) < 0.6 && Math.abs(label.points[0].y - 440) < 0.6, JSON.stringify(label.points));
  const shown = page.locator(`[data-testid=measure-label][data-measurement-id="${label.id}"]`);
  assert.equal(await shown.innerText(), '<b>nodule</b> 8 mm');
  assert.equal(await shown.locator('b').count(), 0, 'typed markup is never markup');
  // The viewport has the keyboard again: a stack key scrolls, it does not type.
  assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'viewport');
  // Double-click edits it; Escape keeps what it was; an empty text removes it.
  await shown.dblclick();
  await input.waitFor();
  await page.keyboard.press('End');
  await page.keyboard.type(' changed');
  await page.keyboard.press('Escape');
  label = (await measurements(page)).find((m) => m.id === label.id);
  assert.equal(label?.text, '<b>nodule</b> 8 mm');
  await shown.dblclick();
  await input.fill('left apex');
  await page.keyboard.press('Enter');
  assert.equal((await measurements(page)).find((m) => m.id === label.id)?.text, 'left apex');
  await page.screenshot({ path: path.join(artifacts, 'measure-text.png') });
  await shown.dblclick();
  await input.fill('   ');
  await page.keyboard.press('Enter');
  assert.ok(!(await measurements(page)).some((m) => m.id === label.id), 'an emptied label is dropped');

  // Select the length by its line, drag it 20 px right: same length, moved points.
  const before = (await measurements(page)).find((m) => m.kind === 'length');
  const mid = { x: (ruler.points[0].x + ruler.points[1].x) / 2, y: ruler.points[0].y };
  await drag(page, mid, { x: mid.x + 20, y: mid.y });
  let moved = (await measurements(page)).find((m) => m.id === before.id);
  assert.ok(Math.abs(moved.points[0].x - (before.points[0].x + 20)) < 0.05, JSON.stringify(moved.points));
  assert.ok(Math.abs(moved.values.length - before.values.length) < 1e-9);
  // The keyboard nudges the selected one; Delete removes it.
  await page.keyboard.press('ArrowUp');
  moved = (await measurements(page)).find((m) => m.id === before.id);
  assert.ok(Math.abs(moved.points[0].y - (before.points[0].y - 1)) < 0.05, 'nudged up by one pixel');
  const count = (await measurements(page)).length;
  await page.keyboard.press('Delete');
  assert.equal((await measurements(page)).length, count - 1);
  assert.ok(!(await measurements(page)).some((m) => m.id === before.id));

  // Another patient: nothing drawn on the first one's images remains.
  const other = manifest.patients.find((p) => p.fhir_id !== patient.fhir_id);
  await page.selectOption('[data-testid=patient-picker]', other.fhir_id);
  await page.waitForFunction(() => window.emrDemo.viewer.getMeasurements().length === 0);
  assert.equal(await page.locator('[data-testid=measure-label]').count(), 0);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a radiograph with non-square detector pixels and a magnification: the ruler reads 100.0 mm at three zooms; its SR', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const found = manifest.patients.flatMap((patient) => patient.studies.map((study) => ({ patient, study, series: study.series[0] })))
    .find((s) => s.series?.modality === 'CR');
  assert.ok(found, 'the test data has a radiograph');
  const { patient, study, series } = found;
  const { page, problems } = await newPage(browser);
  await openStudyInDemo(page, patient, study);
  // Shown with its pixels' proportions: rows 0.3 mm, columns 0.2 mm at the detector.
  const box = await page.locator('[data-testid=viewport-canvas]').boundingBox();
  const aspect = (box.height / 480) / (box.width / 512);
  assert.ok(Math.abs(aspect - 1.5) < 0.01, `screen aspect of a pixel ${aspect}`);
  await rulerAtThreeZooms(page, series, 'detector');
  const [m] = await measurements(page);
  assert.equal(m.values.calibration.magnification, 1.25);
  await page.screenshot({ path: path.join(artifacts, 'measure-radiograph.png') });

  // Its measurement report (TID 1500), read beside the image as text; the image stays.
  const sr = study.series.find((se) => se.modality === 'SR');
  assert.ok(sr, 'the radiograph study has a measurement report');
  await page.click(`[data-report-series-uid="${sr.uid}"]`);
  const tree = page.locator('[data-testid=sr-tree]');
  await tree.waitFor();
  const text = await tree.innerText();
  for (const expected of ['Imaging Measurement Report', 'Finding: Calibration marker', 'Length: 100.0 mm', 'Angle: 53.13°',
    'Finding: Nodule', 'Long Axis: 12.5 mm', 'Area: 96.1 mm²', 'Person Observer Name: Dr Ruth Example']) {
    assert.ok(text.includes(expected), `"${expected}" in the report:\n${text}`);
  }
  assert.equal(await page.locator('[data-testid=sr-tree] b, [data-testid=sr-tree] script').count(), 0);
  assert.equal((await measurements(page)).length, 1, 'the measurement drawn is still there');
  assert.ok(await page.locator('[data-testid=viewport-canvas]').isVisible(), 'the image stays');
  await page.screenshot({ path: path.join(artifacts, 'structured-report.png') });
  await page.click('[data-testid=sr-close]');
  await tree.waitFor({ state: 'detached' });
  assert.deepEqual(problems, []);
  await page.close();
});
