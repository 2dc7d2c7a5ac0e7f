// A prior side by side, in Chromium against the real Orthanc + Helios FHIR Server: the study
// list marks the chest CT's prior a year before, "Compare" opens it beside the current CT, and
// scrolling either viewport brings the other to the nearest slice by position along the
// normal (the generated prior has 8 mm slices against the current's 5 mm, and one more).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { artifacts, displayedAfter, launch, loadManifest, newPage, requireEnv } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const current = '[data-testid=current-pane]';
const prior = '[data-testid=prior-pane]';

/** The index of the slice nearest `z` (ties to the lower index), by the manifest's positions. */
function nearest(positions, z) {
  let best = 0;
  positions.forEach((p, i) => { if (Math.abs(p - z) < Math.abs(positions[best] - z)) best = i; });
  return best;
}

/** What a pane shows: its slice index and position (mm along the normal). */
async function shown(page, pane) {
  return page.locator(pane).evaluate((el) => ({
    index: Number(el.dataset.sliceIndex),
    position: Number(el.dataset.slicePosition),
  }));
}

/** Waits until `pane` shows slice `index`, then lets the linked viewport's effects run. */
async function settled(page, pane, index) {
  await page.waitForFunction(([p, i]) => document.querySelector(p)?.dataset.sliceIndex === String(i), [pane, index]);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** Waits until `pane`'s stack holds `count` slices and none is loading. */
async function stacked(page, pane, count) {
  await page.waitForFunction(([p, n]) => {
    const el = document.querySelector(p);
    return el?.querySelector('[data-testid=scrollbar]')?.getAttribute('data-loaded') === String(n)
      && !el.querySelector('[data-testid=series-progress]');
  }, [pane, count], { timeout: 60000 });
}

test('priors side by side: marked, compared, scrolled by slice position both ways, closed, cleared', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const anna = manifest.patients[0];
  const [ct, mr, old] = anna.studies; // 2024 CT, 2023 MR, the CT's prior of 2023
  const [ctSeries, oldSeries] = [ct.series[0], old.series[0]];
  assert.equal(oldSeries.slice_spacing, 8);
  assert.equal(ctSeries.slice_spacing, 5);
  const { page, problems } = await newPage(browser);
  await page.goto(`${requireEnv('E2E_PROXY_URL')}/?manual`);
  await page.waitForFunction(() => window.emrDemo?.ready === true, null, { timeout: 60000 });
  await displayedAfter(page, () => page.selectOption('[data-testid=patient-picker]', anna.fhir_id), ct.uid);
  await stacked(page, current, ctSeries.instances.length);

  // Marked in the list: only the prior compares with the open CT (the MR is another modality).
  const comparable = (uid) => page.locator(`[data-study-uid="${uid}"]`).getAttribute('data-comparable');
  assert.deepEqual([await comparable(ct.uid), await comparable(mr.uid), await comparable(old.uid)], ['false', 'false', 'true']);
  const row = page.locator(`[data-study-uid="${old.uid}"]`);
  assert.equal(await row.locator('[data-testid=comparable-mark]').innerText(), 'Comparable');
  assert.equal(await page.locator('[data-testid=compare]').count(), 1);

  await row.locator('[data-testid=compare]').click();
  await page.locator(`${prior}[data-study-uid="${old.uid}"]`).waitFor();
  await stacked(page, prior, oldSeries.instances.length);
  assert.match(await page.locator('[data-testid=prior-label]').innerText(), /^Comparison: 2023-03-12 /);
  assert.equal(await page.locator('[aria-selected=true][data-study-uid]').getAttribute('data-study-uid'), ct.uid, 'the CT stays open');
  assert.match(await page.locator(`${prior} [data-testid=overlay-study-date]`).innerText(), /2023-03-12/);

  // Scroll the current CT through every slice (keyboard, then wheel): the prior shows the
  // slice nearest by position, within half its spacing.
  const viewport = (pane) => page.locator(`${pane} [data-testid=viewport]`);
  const checkPrior = async (i) => {
    await settled(page, current, i);
    const [now, then] = [await shown(page, current), await shown(page, prior)];
    assert.equal(now.position, ctSeries.slice_positions[i], `current slice ${i}`);
    const want = nearest(oldSeries.slice_positions, now.position);
    assert.equal(then.index, want, `current z ${now.position}: prior slice ${then.index} at z ${then.position}`);
    assert.equal(then.position, oldSeries.slice_positions[want]);
    assert.ok(Math.abs(then.position - now.position) <= oldSeries.slice_spacing / 2, `|${then.position} - ${now.position}|`);
    return then;
  };
  await checkPrior(0);
  await viewport(current).focus();
  const seen = [];
  for (let i = 1; i < ctSeries.instances.length; i++) {
    await page.keyboard.press('ArrowDown');
    seen.push((await checkPrior(i)).index);
  }
  assert.ok(new Set(seen).size >= 3, `the prior moved through several slices: ${seen}`);
  await page.screenshot({ path: path.join(artifacts, 'compare-priors.png') });
  const box = await viewport(current).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = ctSeries.instances.length - 2; i >= 0; i--) {
    await page.mouse.wheel(0, -100);
    await checkPrior(i);
  }

  // Scroll the prior: the current follows to its nearest slice, and stays there (the link
  // does not bounce between 5 mm and 8 mm slices).
  await viewport(prior).focus();
  for (let j = 1; j < oldSeries.instances.length; j++) {
    await page.keyboard.press('ArrowDown');
    await settled(page, prior, j);
    const [then, now] = [await shown(page, prior), await shown(page, current)];
    const want = nearest(ctSeries.slice_positions, then.position);
    assert.equal(now.index, want, `prior z ${then.position}: current slice ${now.index} at z ${now.position}`);
    assert.equal((await shown(page, prior)).index, j, 'the prior stays where the user put it');
  }

  // Linked W/L: the prior takes the current's window once linked.
  const wl = (pane) => page.locator(`${pane} [data-testid=overlay-wl]`).innerText();
  const preset = async (name) => {
    const select = page.locator(`${current} [data-testid=preset]`);
    await select.selectOption(await select.locator('option', { hasText: name }).getAttribute('value'));
  };
  await preset('Lung');
  assert.notEqual(await wl(prior), await wl(current), 'not linked: each its own window');
  await page.click('[data-testid=link-window]');
  assert.equal(await page.locator('[data-testid=link-window]').getAttribute('aria-pressed'), 'true');
  await page.waitForFunction(([a, b]) => {
    const w = (p) => document.querySelector(`${p} [data-testid=overlay-wl]`)?.innerText;
    return w(a) === w(b);
  }, [current, prior]);
  await preset('Bone');
  await page.waitForFunction(([a, b]) => {
    const w = (p) => document.querySelector(`${p} [data-testid=overlay-wl]`)?.innerText;
    return w(a) === w(b) && /^W 1800\b/.test(w(a) ?? '');
  }, [current, prior]);
  await page.screenshot({ path: path.join(artifacts, 'compare-priors-linked-window.png') });

  // Closing returns to one viewport; the JS API opens it again.
  await page.click('[data-testid=close-comparison]');
  await page.locator(prior).waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-testid=panes]').getAttribute('data-comparing'), 'false');
  await page.evaluate((uid) => window.emrDemo.viewer.compare(uid), old.uid);
  await stacked(page, prior, oldSeries.instances.length);
  const refused = await page.evaluate((uid) => window.emrDemo.viewer.compare(uid).then(() => 'resolved', (e) => e.code), mr.uid);
  assert.equal(refused, 'no-images', 'the MR does not compare with the CT');
  assert.equal(await page.locator(`${prior}[data-study-uid="${old.uid}"]`).count(), 1, 'a refused comparison leaves the open one');

  // A patient switch clears both viewports at once.
  const other = manifest.patients[1];
  await page.evaluate((id) => { window.emrDemo.viewer.loadPatientImages(id).catch(() => {}); }, other.fhir_id);
  assert.equal(await page.locator(prior).count(), 0, 'the prior is gone when the switch returns');
  assert.equal(await page.locator('[data-testid=panes]').getAttribute('data-comparing'), 'false');
  assert.deepEqual(problems.filter((p) => !/no-images/.test(p)), []);
  await page.close();
});
