// FHIRcast STU3 in Chromium: the widget follows the TestFhircastHub (our tooling's STU3 hub,
// run as its own process so it can be killed) over the real FHIR server and Orthanc, through
// the dev proxy. The hub's /_test/ paths tell what the widget acknowledged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { launch, loadManifest, newPage, requireEnv, settled } from './helpers.mjs';

let browser;
let hub;
let hubPorts;
/** Each test has its own FHIRcast session: a hub greets a new subscriber with the last open. */
let topic;
let topics = 0;
const newTopic = () => { topic = `e2e-${Date.now()}-${++topics}`; };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const hubUrl = () => `http://127.0.0.1:${hubPorts.http}/hub`;
const hubTest = async (path) => (await fetch(`http://127.0.0.1:${hubPorts.http}/_test/${path}`)).json();

/** Starts the TestFhircastHub (`cargo xtask fhircast-hub`) on the fixed ports and waits for it. */
async function startHub() {
  const child = spawn(requireEnv('E2E_XTASK'), ['fhircast-hub', '--port', String(hubPorts.http), '--ws-port', String(hubPorts.ws)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${hubUrl()}/.well-known/fhircast-configuration`)).ok) return child;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the TestFhircastHub did not start');
}

async function stopHub() {
  if (!hub) return;
  const gone = new Promise((r) => hub.once('exit', r));
  hub.kill('SIGKILL');
  await gone;
  hub = null;
}

before(async () => {
  browser = await launch();
  hubPorts = { http: await freePort(), ws: await freePort() };
  hub = await startHub();
});
after(async () => {
  await browser?.close();
  await stopHub();
});

let eventNumber = 0;
/** What an EMR would publish: `{timestamp, id, event}` POSTed to the hub. Returns the id. */
async function publish(name, context) {
  const id = `emr-${++eventNumber}-${Date.now()}`;
  const body = { timestamp: new Date().toISOString(), id, event: { 'hub.topic': topic, 'hub.event': name, context } };
  const r = await fetch(hubUrl(), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 202);
  return id;
}

const patientContext = (id) => [{ key: 'patient', resource: { resourceType: 'Patient', id } }];
const studyContext = (uid, patientId) => [
  { key: 'study', resource: { resourceType: 'ImagingStudy', identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }] } },
  ...patientContext(patientId),
];

async function ackOf(id, timeoutMs = 10000) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const ack = (await hubTest('acks')).find((a) => a.id === id && a.subscriber === 'viewer');
    if (ack) return ack;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no acknowledgement of ${id}`);
}

/**
 * A page with the widget subscribed to the hub; records every image drawn, canvas clear and
 * context event in `window.log` with performance.now() times.
 */
async function viewerPage(extra = {}) {
  const proxy = requireEnv('E2E_PROXY_URL');
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy}/examples/README.md`);
  await page.evaluate(async ({ hubUrl, topic, extra }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const host = document.body.appendChild(document.createElement('div'));
    host.style.cssText = 'width: 800px; height: 600px';
    window.log = [];
    const viewer = new EMRImagingComponent({ fhirBaseUrl: '/fhir', ...extra });
    viewer.mount(host);
    for (const name of ['image-displayed', 'context', 'error']) {
      document.addEventListener(`emr-imaging:${name}`, (e) => window.log.push({ name, t: performance.now(), detail: e.detail }));
    }
    // Every clear of the viewport canvas (its width set to 0), as it happens.
    const seen = new WeakSet();
    new MutationObserver(() => {
      const canvas = host.querySelector('[data-testid=viewport-canvas]');
      if (canvas && !seen.has(canvas)) {
        seen.add(canvas);
        new MutationObserver(() => {
          if (canvas.width === 0) window.log.push({ name: 'canvas-cleared', t: performance.now() });
        }).observe(canvas, { attributes: true, attributeFilter: ['width'] });
      }
    }).observe(host, { childList: true, subtree: true });
    window.viewer = viewer;
    await viewer.connectFhircast({ hubUrl, topic, publish: true, subscriberName: 'viewer' });
  }, { hubUrl: hubUrl(), topic, extra });
  return { page, problems };
}

const shownStudies = (page) => page.evaluate(() => [...document.querySelectorAll('[data-study-uid]')].map((e) => e.dataset.studyUid));

async function waitForImage(page, studyUids, since = 0) {
  await page.waitForFunction(({ uids, since }) => window.log.some((l) => l.name === 'image-displayed' && l.t > since && uids.includes(l.detail.studyUid)),
    { uids: studyUids, since }, { timeout: 60000 });
}

test('Patient-open of B while A\'s stack loads: nothing of A is drawn after it, B\'s list shows, acknowledged 200', async () => {
  newTopic();
  const [a, b] = loadManifest(requireEnv('E2E_DATA')).patients;
  const { page, problems } = await viewerPage();
  // A's instances come slowly, so its stack is still loading when the EMR switches.
  await page.route(`**/dicom-web/studies/${a.studies[0].uid}/**`, async (route) => {
    await new Promise((r) => setTimeout(r, 400));
    await route.continue().catch(() => {});
  });
  await page.evaluate((id) => { window.viewer.loadPatientImages(id).catch(() => {}); }, a.fhir_id);
  await waitForImage(page, a.studies.map((s) => s.uid));
  const tEvent = await page.evaluate(() => performance.now());
  const id = await publish('Patient-open', patientContext(b.fhir_id));
  await waitForImage(page, b.studies.map((s) => s.uid), tEvent);
  const ack = await ackOf(id);
  assert.equal(ack.status, 200);
  // Let A's slow answers arrive: none of them may be drawn.
  await new Promise((r) => setTimeout(r, 1500));
  const log = await page.evaluate(() => window.log);
  const cleared = log.find((l) => l.name === 'canvas-cleared' && l.t > tEvent);
  assert.ok(cleared, 'the canvas was cleared');
  const aUids = a.studies.map((s) => s.uid);
  const drawnOfA = log.filter((l) => l.name === 'image-displayed' && l.t > tEvent && aUids.includes(l.detail.studyUid));
  assert.deepEqual(drawnOfA, [], 'no image of A after the Patient-open');
  assert.deepEqual((await shownStudies(page)).sort(), b.studies.map((s) => s.uid).sort(), 'B\'s list');
  const banner = await page.locator('[data-testid=patient-banner]').innerText();
  assert.ok(banner.includes(b.mrn), banner);
  const context = log.find((l) => l.name === 'context' && l.detail.id === id);
  assert.equal(context?.detail.event, 'Patient-open');
  assert.equal(context?.detail.status, 200);
  assert.deepEqual(problems, []);
  await page.close();
});

test('ImagingStudy-open of a study of another patient is refused with 409 and nothing is shown', async () => {
  newTopic();
  const [a, b] = loadManifest(requireEnv('E2E_DATA')).patients;
  const { page, problems } = await viewerPage();
  await page.evaluate((id) => window.viewer.loadPatientImages(id), a.fhir_id);
  await settled(requireEnv('E2E_PROXY_URL'));
  const before = await page.evaluate(() => ({ n: window.log.length, t: performance.now() }));
  // B's study, said to be A's: the FHIR server says whose it is.
  const id = await publish('ImagingStudy-open', studyContext(b.studies[0].uid, a.fhir_id));
  const ack = await ackOf(id);
  assert.equal(ack.status, 409);
  await new Promise((r) => setTimeout(r, 500));
  const log = await page.evaluate(() => window.log);
  const after = log.slice(before.n);
  assert.deepEqual(after.filter((l) => l.name === 'image-displayed' || l.name === 'canvas-cleared'), [], 'nothing drawn or cleared');
  assert.equal(after.find((l) => l.name === 'context')?.detail.status, 409);
  assert.deepEqual((await shownStudies(page)).sort(), a.studies.map((s) => s.uid).sort(), 'A\'s list stays');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a study opened in the viewer reaches a second subscriber as ImagingStudy-open with its UID', async () => {
  newTopic();
  const [a] = loadManifest(requireEnv('E2E_DATA')).patients;
  const proxy = requireEnv('E2E_PROXY_URL');
  // The second subscriber: a plain STU3 client in another page (Node 20 has no WebSocket).
  const other = await newPage(browser);
  await other.page.goto(`${proxy}/examples/README.md`);
  await other.page.evaluate(async ({ hubUrl, topic }) => {
    window.messages = [];
    const body = new URLSearchParams({ 'hub.channel.type': 'websocket', 'hub.mode': 'subscribe', 'hub.topic': topic,
      'hub.events': 'ImagingStudy-open,ImagingStudy-close', 'subscriber.name': 'reporting' });
    const answer = await (await fetch(hubUrl, { method: 'POST', body })).json();
    const socket = new WebSocket(answer['hub.channel.endpoint']);
    socket.onmessage = (e) => {
      const m = JSON.parse(e.data);
      window.messages.push(m);
      if (m.id && m.event) socket.send(JSON.stringify({ id: m.id, status: '200' }));
    };
    await new Promise((r) => { socket.onopen = r; });
  }, { hubUrl: hubUrl(), topic });
  const { page, problems } = await viewerPage();
  await page.evaluate((id) => window.viewer.loadPatientImages(id), a.fhir_id);
  // The study the viewer did not open by itself (it opens the newest).
  const opened = await page.locator('[aria-selected=true]').getAttribute('data-study-uid');
  const chosen = a.studies.find((s) => s.uid !== opened);
  await page.locator(`[data-study-uid="${chosen.uid}"]`).click();
  await other.page.waitForFunction((uid) => window.messages.some((m) => m.event?.['hub.event'] === 'ImagingStudy-open'
    && m.event.context.some((c) => c.key === 'study' && c.resource.identifier.some((i) => i.system === 'urn:dicom:uid' && i.value === `urn:oid:${uid}`))),
  chosen.uid, { timeout: 10000 });
  const published = await other.page.evaluate((uid) => window.messages.find((m) => m.event?.['hub.event'] === 'ImagingStudy-open'
    && JSON.stringify(m).includes(uid)), chosen.uid);
  const patient = published.event.context.find((c) => c.key === 'patient');
  assert.equal(patient.resource.id, a.fhir_id);
  const identifiers = published.event.context.find((c) => c.key === 'study').resource.identifier;
  assert.ok(identifiers.some((i) => i.value === chosen.accession), JSON.stringify(identifiers));
  // Only the user's choice went out, not the newest study the viewer opened by itself.
  const opens = await other.page.evaluate(() => window.messages.filter((m) => m.event?.['hub.event'] === 'ImagingStudy-open')
    .map((m) => m.event.context.find((c) => c.key === 'study').resource.identifier[0].value));
  assert.deepEqual(opens, [`urn:oid:${chosen.uid}`]);
  // Our own event came back from the hub: acknowledged, and not followed a second time.
  const ack = await ackOf(published.id);
  assert.equal(ack.status, 200);
  assert.deepEqual(problems, []);
  await other.page.close();
  await page.close();
});

test('the hub is killed and restarted: the widget re-subscribes and takes the current context', async () => {
  newTopic();
  const [a, b] = loadManifest(requireEnv('E2E_DATA')).patients;
  const { page, problems } = await viewerPage();
  await page.evaluate((id) => window.viewer.loadPatientImages(id), a.fhir_id);
  await waitForImage(page, a.studies.map((s) => s.uid));
  await stopHub();
  hub = await startHub();
  // The new hub knows nobody; the EMR opens B there, most likely before the widget is back
  // (its first retry comes 0.5 s after the drop): then B comes as the hub's current context.
  const back = (await hubTest(`subscribers?topic=${topic}`)).length > 0;
  console.log(`hub restarted; the widget was ${back ? 'already' : 'not yet'} subscribed again when B was opened`);
  const since = await page.evaluate(() => performance.now());
  await publish('Patient-open', patientContext(b.fhir_id));
  await waitForImage(page, b.studies.map((s) => s.uid), since);
  const live = await hubTest(`subscribers?topic=${topic}`);
  assert.equal(live.filter((s) => s.name === 'viewer').length, 1, JSON.stringify(live));
  // Drops and reconnects say nothing to the console.
  assert.deepEqual(problems.filter((p) => !p.includes('WebSocket') && !p.includes('ERR_CONNECTION_REFUSED')), []);
  await page.close();
});

test('UserLogout: no image of the user is left in IndexedDB and no object URL lives', async () => {
  newTopic();
  const [a] = loadManifest(requireEnv('E2E_DATA')).patients;
  const proxy = requireEnv('E2E_PROXY_URL');
  const { page, problems } = await viewerPage({ userId: 'e2e-logout-user' });
  const study = a.studies[0];
  const url = await page.evaluate(async ({ id, study, series, instance }) => {
    await window.viewer.loadPatientImages(id);
    return window.viewer.loadImage(study, series, instance);
  }, { id: a.fhir_id, study: study.uid, series: study.series[0].uid, instance: study.series[0].instances[0].sop_instance_uid });
  await settled(proxy);
  /** Every record of every object store of every IndexedDB database of this origin. */
  const idb = () => page.evaluate(async () => {
    const out = {};
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => resolve(r.result); r.onerror = reject; });
      for (const store of db.objectStoreNames) {
        out[`${name}/${store}`] = await new Promise((resolve) => {
          const r = db.transaction(store).objectStore(store).count();
          r.onsuccess = () => resolve(r.result);
        });
      }
      db.close();
    }
    return out;
  });
  const before = await idb();
  assert.ok(before['emr-imaging-cache/blobs'] > 0, `images were cached: ${JSON.stringify(before)}`);
  const id = await publish('UserLogout', []);
  assert.equal((await ackOf(id)).status, 200);
  const after = await idb();
  assert.ok(Object.values(after).every((n) => n === 0), `IndexedDB after logout: ${JSON.stringify(after)}`);
  const alive = await page.evaluate((u) => fetch(u).then(() => true, () => false), url);
  assert.equal(alive, false, 'the object URL was revoked');
  assert.equal(await page.evaluate(() => document.querySelectorAll('[data-study-uid]').length), 0);
  assert.deepEqual(problems.filter((p) => !p.includes('ERR_FILE_NOT_FOUND')), []);
  await page.close();
});

test('destroy() unsubscribes, then closes the socket with 1000', async () => {
  newTopic();
  const { page } = await viewerPage();
  assert.equal((await hubTest(`subscribers?topic=${topic}`)).filter((s) => s.name === 'viewer').length, 1);
  await page.evaluate(() => window.viewer.destroy());
  for (let i = 0; i < 100 && (await hubTest(`subscribers?topic=${topic}`)).some((s) => s.name === 'viewer'); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual((await hubTest(`subscribers?topic=${topic}`)).filter((s) => s.name === 'viewer'), []);
  await page.close();
});

test('numbers: Patient-open POST to the old pixels cleared and to the new patient\'s first image (median of 20)', async () => {
  newTopic();
  const [a, b] = loadManifest(requireEnv('E2E_DATA')).patients;
  const { page } = await viewerPage();
  await page.evaluate((id) => window.viewer.loadPatientImages(id), a.fhir_id);
  await waitForImage(page, a.studies.map((s) => s.uid));
  const cleared = [];
  const shown = [];
  for (let i = 0; i < 20; i++) {
    const next = i % 2 === 0 ? b : a;
    await settled(requireEnv('E2E_PROXY_URL'), 200);
    // The POST is made from the page, so one clock times all three moments.
    const t = await page.evaluate(async ({ hubUrl, topic, id, n }) => {
      const t0 = performance.now();
      await fetch(hubUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
        timestamp: new Date().toISOString(), id: `bench-${n}-${Date.now()}`,
        event: { 'hub.topic': topic, 'hub.event': 'Patient-open', context: [{ key: 'patient', resource: { resourceType: 'Patient', id } }] } }) });
      return t0;
    }, { hubUrl: hubUrl(), topic, id: next.fhir_id, n: i });
    await waitForImage(page, next.studies.map((s) => s.uid), t);
    const log = await page.evaluate(() => window.log);
    cleared.push(log.find((l) => l.name === 'canvas-cleared' && l.t > t).t - t);
    shown.push(log.find((l) => l.name === 'image-displayed' && l.t > t && next.studies.some((s) => s.uid === l.detail.studyUid)).t - t);
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(`FHIRcast Patient-open POST → old pixels cleared: median ${median(cleared).toFixed(1)} ms (min ${Math.min(...cleared).toFixed(1)}, max ${Math.max(...cleared).toFixed(1)}); → new patient's first image: median ${median(shown).toFixed(1)} ms (min ${Math.min(...shown).toFixed(1)}, max ${Math.max(...shown).toFixed(1)}), n=20`);
  await page.close();
});
