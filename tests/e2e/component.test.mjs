// EMRImagingComponent's life cycle in Chromium against the real servers: destroy() frees what
// mount and loads took, the <emr-imaging> custom element, one wasm instance for many
// components, and (printed, not asserted) the time from import() to a usable component.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  clearJournal, displayedAfter, journal, launch, loadManifest, newPage, recordRequests, requireEnv,
  ctOf, settled,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const apiRequests = (seen) => seen.filter((r) => r.path.startsWith('/fhir/') || r.path.startsWith('/dicom-web/'));

test('destroy() empties the DOM, revokes object URLs, drops listeners, frees the object, and nothing is fetched after it', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const { patient, study, series } = ctOf(loadManifest(requireEnv('E2E_DATA')));
  const { page, problems } = await newPage(browser);
  // A same-origin page without a CSP, so the test can fetch() the blob: URL.
  await page.goto(`${proxy}/examples/README.md`);
  const before = await page.evaluate(async ({ patientId, studyUid, seriesUid, instanceUid }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const host = document.body.appendChild(document.createElement('div'));
    host.id = 'imaging';
    window.calls = { on: 0, onError: 0 };
    // With an upload panel and audit delivery: both listen for the window's `online`.
    const viewer = new EMRImagingComponent({
      fhirBaseUrl: '/fhir', token: 'e2e-destroy', onError: () => window.calls.onError++,
      upload: { stowBaseUrl: '/dicom-web' }, audit: { enabled: true, fhirBaseUrl: '/audit' },
    });
    viewer.mount(host);
    viewer.on('image-displayed', () => window.calls.on++);
    await viewer.loadPatientImages(patientId);
    window.url = await viewer.loadImage(studyUid, seriesUid, instanceUid);
    window.viewer = viewer;
    window.row = host.querySelector(`[data-study-uid="${studyUid}"]`);
    const blob = await (await fetch(window.url)).blob();
    return { children: host.childElementCount, type: blob.type, on: window.calls.on };
  }, { patientId: patient.fhir_id, studyUid: study.uid, seriesUid: series.uid, instanceUid: series.instances[0].sop_instance_uid });
  assert.equal(before.type, 'image/jpeg');
  assert.ok(before.children > 0 && before.on >= 1, JSON.stringify(before));

  // A load in flight when destroy() comes must settle without touching anything.
  const after = await page.evaluate(async (patientId) => {
    const shownBefore = window.calls.on;
    const pending = window.viewer.loadPatientImages(patientId).then(() => 'resolved', (e) => e.code);
    window.viewer.destroy();
    const outcome = await pending;
    const host = document.getElementById('imaging');
    const revoked = await fetch(window.url).then(() => false, () => true);
    // destroy() freed the wasm object: a later call throws, while free() (which older code
    // calls after destroy) and a second destroy() are harmless.
    const later = (() => { try { window.viewer.setToken('x'); return 'no error'; } catch (e) { return e instanceof Error; } })();
    let freed = 'no error';
    try { window.viewer.free(); window.viewer.destroy(); } catch (e) { freed = String(e); }
    // The network coming back calls no listener of the destroyed component (a freed closure
    // would throw).
    window.dispatchEvent(new Event('online'));
    await new Promise((r) => setTimeout(r, 0));
    return { outcome, later, freed, listened: window.calls.on - shownBefore, children: host.childElementCount, revoked, rowAttached: window.row.isConnected };
  }, patient.fhir_id);
  assert.equal(after.outcome, 'superseded');
  assert.equal(after.later, true, 'a call after destroy() throws an Error');
  assert.equal(after.freed, 'no error');
  assert.equal(after.listened, 0, 'no listener is called after destroy()');
  assert.equal(after.children, 0, 'the widget DOM is gone');
  assert.equal(after.revoked, true, 'the blob: URL was revoked');
  assert.equal(after.rowAttached, false);

  // The detached study row's click handler is gone with it: clicking asks nothing of the servers.
  await clearJournal(proxy);
  const calls = await page.evaluate(async () => {
    window.row.click();
    window.row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    // Whatever a handler would start has its first await behind these two turns of the loop.
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => requestAnimationFrame(r));
    return window.calls;
  });
  assert.deepEqual(apiRequests(await journal(proxy)), [], 'no request after destroy');
  assert.equal(calls.onError, 0);
  // The one failed load is the test's own fetch of the revoked URL.
  assert.deepEqual(problems.filter((p) => !p.includes('ERR_FILE_NOT_FOUND')), []);
  await page.close();
});

test('<emr-imaging>: reactive attributes, token by property or event (never an attribute), events bubble, removal destroys', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const { patient, study } = ctOf(manifest);
  const other = patient.studies.find((s) => s.uid !== study.uid);
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy}/examples/plain/`);
  await page.evaluate(async () => {
    await import('/pkg/element.js');
    await import('/pkg/element.js'); // a second import defines nothing twice
    const el = document.createElement('emr-imaging');
    el.id = 'el';
    el.style.cssText = 'display:block;height:400px';
    el.setAttribute('fhir-base', '/fhir');
    el.token = 'e2e-Aelement';
    document.body.append(el);
  });
  await clearJournal(proxy);
  // Events bubble to the document; the helper listens there.
  const shown = await displayedAfter(page, () => page.evaluate((id) => document.getElementById('el').setAttribute('patient', id), patient.fhir_id));
  assert.ok(patient.studies.some((s) => s.uid === shown.studyUid));
  const state = await page.evaluate(() => {
    const el = document.getElementById('el');
    return { tokenAttr: el.getAttribute('token'), token: el.token, hasComponent: el.component !== null, attrs: el.getAttributeNames() };
  });
  assert.deepEqual({ tokenAttr: state.tokenAttr, token: state.token, hasComponent: state.hasComponent }, { tokenAttr: null, token: undefined, hasComponent: true });
  assert.ok(!JSON.stringify(state.attrs).includes('token'));
  const first = apiRequests(await journal(proxy));
  assert.ok(first.length > 0 && first.every((r) => r.authorization === 'Bearer e2e-A'), 'the property token was used');

  // A new token by event, then the study attribute opens another study. (The journal keeps the
  // first 12 characters of the Authorization header: `Bearer e2e-A` / `Bearer e2e-B`.)
  if (other) {
    // The first patient's background loading (the rest of the series, thumbnails) ends first,
    // so every request after this point is the new token's.
    await settled(proxy);
    await page.evaluate(() => document.getElementById('el').dispatchEvent(new CustomEvent('emr-imaging:token', { detail: async () => 'e2e-Bevent' })));
    await clearJournal(proxy);
    const opened = await displayedAfter(page, () => page.evaluate(({ uid, id }) => {
      const el = document.getElementById('el');
      el.setAttribute('study', uid);
      el.removeAttribute('patient');
      el.setAttribute('patient', id); // reloads the patient, then opens `study`
    }, { uid: other.uid, id: patient.fhir_id }), other.uid);
    assert.equal(opened.studyUid, other.uid);
    const second = apiRequests(await journal(proxy));
    assert.ok(second.some((r) => r.path.startsWith('/fhir/')), 'the patient was reloaded');
    assert.ok(second.every((r) => r.authorization === 'Bearer e2e-B'), JSON.stringify(second.map((r) => r.authorization)));
  }

  const removed = await page.evaluate(() => {
    const el = document.getElementById('el');
    el.remove();
    return { children: el.childElementCount, component: el.component, defined: customElements.get('emr-imaging') !== undefined };
  });
  assert.deepEqual(removed, { children: 0, component: null, defined: true });
  assert.deepEqual(problems, []);
  await page.close();
});

test('series-loaded arrives once per loaded series, to on() and as a DOM event, with the series\' counts', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const dataDir = requireEnv('E2E_DATA');
  const { patient } = ctOf(loadManifest(dataDir));
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy}/examples/README.md`);
  await page.evaluate(async (patientId) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const host = document.body.appendChild(document.createElement('div'));
    host.style.cssText = 'display:block;height:400px';
    window.loads = { on: [], dom: [], opened: [], sizes: [] };
    // The viewport's size once an image is drawn: a series' progress bar coming or going must not
    // move it (it did, by 3 px, which re-fit the zoom under a clinician's pointer).
    const sizes = new ResizeObserver(([entry]) => {
      if (host.querySelector('[data-testid=viewport-canvas]')?.width > 0) window.loads.sizes.push(`${entry.contentRect.width}x${entry.contentRect.height}`);
    });
    new MutationObserver((_, watch) => {
      const viewport = host.querySelector('[data-testid=viewport]');
      if (viewport) { sizes.observe(viewport); watch.disconnect(); }
    }).observe(host, { subtree: true, childList: true });
    const viewer = new EMRImagingComponent({ fhirBaseUrl: '/fhir', token: 'e2e-series' });
    viewer.mount(host);
    viewer.on('series-loaded', (d) => window.loads.on.push(d));
    viewer.on('study-open', (s) => window.loads.opened.push(s.studyUid));
    document.addEventListener('emr-imaging:series-loaded', (e) => window.loads.dom.push(e.detail));
    window.viewer = viewer;
    await viewer.loadPatientImages(patientId);
  }, patient.fhir_id);
  // The open series is stacked, then every other image series is fetched ahead: wait for quiet.
  await settled(proxy);
  const loads = await page.evaluate(() => window.loads);
  const opened = patient.studies.find((s) => s.uid === loads.opened[0]);
  assert.ok(opened, `a study of the patient opened: ${JSON.stringify(loads.opened)}`);
  const images = opened.series.filter((se) => !['KO', 'SR', 'PR', 'SEG'].includes(se.modality));
  assert.deepEqual(loads.dom, loads.on, 'the DOM event carries the same details');
  assert.deepEqual(loads.on.map((d) => d.seriesUid).sort(), images.map((se) => se.uid).sort(), 'once per image series');
  for (const detail of loads.on) {
    const series = images.find((se) => se.uid === detail.seriesUid);
    assert.deepEqual(Object.keys(detail).sort(), ['bytes', 'instances', 'ms', 'seriesUid', 'studyUid']);
    assert.equal(detail.studyUid, opened.uid);
    assert.equal(detail.instances, series.instances.length);
    const stored = series.instances.reduce((n, i) => n + fs.statSync(path.join(dataDir, 'dicom', `${i.sop_instance_uid}.dcm`)).size, 0);
    assert.ok(Math.abs(detail.bytes - stored) <= stored * 0.1, `bytes ${detail.bytes} against ${stored} stored`);
    assert.ok(Number.isFinite(detail.ms) && detail.ms >= 0 && detail.ms < 120000, `ms ${detail.ms}`);
  }
  assert.ok(loads.sizes.length >= 1, 'the viewport was measured with an image drawn');
  assert.ok(new Set(loads.sizes).size <= 1, `the viewport kept its size while series loaded: ${loads.sizes}`);
  await page.evaluate(() => window.viewer.destroy());
  assert.deepEqual(problems, []);
  await page.close();
});

test('several components and elements on one page share one wasm instance', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  await page.addInitScript(() => {
    window.instantiations = 0;
    for (const name of ['instantiate', 'instantiateStreaming']) {
      const original = WebAssembly[name];
      WebAssembly[name] = function (...args) { window.instantiations++; return original.apply(this, args); };
    }
  });
  await page.goto(`${proxy}/examples/plain/`);
  const count = await page.evaluate(async () => {
    const [a, b] = await Promise.all([import('/pkg/index.js'), import('/pkg/index.js')]);
    await import('/pkg/element.js');
    const components = [new a.EMRImagingComponent('/fhir'), new b.EMRImagingComponent('/fhir'), new a.EMRImagingComponent({ fhirBaseUrl: '/fhir' })];
    for (const c of components) c.mount(document.body.appendChild(document.createElement('div')));
    for (let i = 0; i < 2; i++) {
      const el = document.createElement('emr-imaging');
      el.setAttribute('fhir-base', '/fhir');
      document.body.append(el);
    }
    await a.ready();
    return { instantiations: window.instantiations, mounted: document.querySelectorAll('.emr-imaging').length };
  });
  assert.deepEqual(count, { instantiations: 1, mounted: 5 });
  assert.equal(requests.filter((r) => r.url.endsWith('.wasm')).length, 1, 'the wasm was fetched once');
  assert.deepEqual(problems, []);
  await page.close();
});

test('time from import() of the package entry to a callable loadPatientImages (printed)', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const times = [];
  for (let i = 0; i < 7; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    // A page of the same origin that has not imported the package yet.
    await page.goto(`${proxy}/examples/README.md`);
    times.push(await page.evaluate(async () => {
      const t0 = performance.now();
      const { EMRImagingComponent } = await import('/pkg/index.js');
      const viewer = new EMRImagingComponent('/fhir');
      const callable = typeof viewer.loadPatientImages === 'function';
      const t1 = performance.now();
      return callable ? t1 - t0 : NaN;
    }));
    await context.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`import() → loadPatientImages callable: median ${median.toFixed(1)} ms over ${times.length} fresh contexts (${sorted.map((t) => t.toFixed(0)).join(', ')})`);
  assert.ok(times.every((t) => Number.isFinite(t)), 'the component was usable after the import');
});
