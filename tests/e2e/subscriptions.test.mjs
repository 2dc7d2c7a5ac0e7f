// New studies while a patient is open: the widget's FHIR topic-based Subscription (R4
// Backport, WebSocket channel) against the real Helios FHIR Server with its Subscriptions
// engine (a second instance without auth), images from Orthanc through the dev proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, loadManifest, newPage, requireEnv, settled } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const fhir = () => requireEnv('E2E_SUBSCRIPTIONS_FHIR');

async function fhirJson(path, init = {}) {
  const r = await fetch(`${fhir()}/${path}`, { ...init, headers: { Accept: 'application/fhir+json', 'Content-Type': 'application/fhir+json', ...init.headers } });
  return { status: r.status, body: r.status === 204 ? null : await r.json().catch(() => null) };
}

/** The Subscriptions for `patientId` on the server, with their status. */
async function subscriptionsOf(patientId) {
  const { body } = await fhirJson('Subscription?_count=100');
  return (body?.entry ?? []).map((e) => e.resource)
    .filter((s) => JSON.stringify(s.extension ?? []).includes(`Patient/${patientId}`));
}

async function until(what, check, limitMs = 10000) {
  const start = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - start > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a new ImagingStudy POSTed to the FHIR server appears in the open list, without taking the viewport', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const [a, b] = manifest.patients;
  const proxy = requireEnv('E2E_PROXY_URL');
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy}/examples/README.md`);
  await page.evaluate(async ({ fhirBaseUrl, topic, id }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const host = document.body.appendChild(document.createElement('div'));
    host.style.cssText = 'width: 800px; height: 600px';
    window.shown = [];
    document.addEventListener('emr-imaging:image-displayed', (e) => window.shown.push(e.detail.studyUid));
    window.viewer = new EMRImagingComponent({ fhirBaseUrl, subscriptions: { topic } });
    window.viewer.mount(host);
    await window.viewer.loadPatientImages(id);
  }, { fhirBaseUrl: fhir(), topic: requireEnv('E2E_STUDY_TOPIC'), id: a.fhir_id });
  const [subscription] = await until('the widget\'s Subscription is active', async () => (await subscriptionsOf(a.fhir_id)).filter((s) => s.status === 'active'));
  await settled(proxy);
  const selected = await page.locator('[aria-selected=true]').getAttribute('data-study-uid');
  const shownBefore = await page.evaluate(() => window.shown.length);

  // A new study of A, as a modality and the RIS would file it.
  const uid = `2.25.${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const study = {
    resourceType: 'ImagingStudy', status: 'available', subject: { reference: `Patient/${a.fhir_id}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }], started: new Date().toISOString(),
    endpoint: [{ reference: `Endpoint/${manifest.endpoint_id}` }], description: 'Arrived while open',
  };
  const posted = Date.now();
  const created = await fhirJson('ImagingStudy', { method: 'POST', body: JSON.stringify(study) });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  // The bound: listed within 5 s.
  await page.waitForSelector(`[data-study-uid="${uid}"]`, { timeout: 5000 });
  console.log(`new ImagingStudy POST → listed in ${Date.now() - posted} ms`);
  assert.ok(await page.locator('[data-testid=new-study-notice]').isVisible());
  assert.equal(await page.locator('[aria-selected=true]').getAttribute('data-study-uid'), selected, 'the open study stays open');
  assert.equal(await page.evaluate(() => window.shown.length), shownBefore, 'nothing new was drawn');

  // Another patient: A's Subscription is deleted, one for B is made.
  await page.evaluate((id) => window.viewer.loadPatientImages(id), b.fhir_id);
  await until('A\'s Subscription is deleted', async () => (await fhirJson(`Subscription/${subscription.id}`)).status >= 400);
  const [ofB] = await until('B\'s Subscription', async () => (await subscriptionsOf(b.fhir_id)).filter((s) => s.status === 'active'));
  assert.equal(await page.locator('[data-testid=new-study-notice]').count(), 0, 'the notice went with A');
  await page.evaluate(() => window.viewer.destroy());
  await until('destroy() deletes B\'s Subscription', async () => (await fhirJson(`Subscription/${ofB.id}`)).status >= 400);
  assert.deepEqual(problems, []);
  await page.close();
});

test('studyPollSeconds: without a Subscription the list is read again and a new study shows', async () => {
  const manifest = loadManifest(requireEnv('E2E_DATA'));
  const [, b] = manifest.patients;
  const proxy = requireEnv('E2E_PROXY_URL');
  const { page, problems } = await newPage(browser);
  await page.goto(`${proxy}/examples/README.md`);
  await page.evaluate(async ({ fhirBaseUrl, id }) => {
    const { EMRImagingComponent } = await import('/pkg/index.js');
    const host = document.body.appendChild(document.createElement('div'));
    window.viewer = new EMRImagingComponent({ fhirBaseUrl, studyPollSeconds: 1 });
    window.viewer.mount(host);
    await window.viewer.loadPatientImages(id);
  }, { fhirBaseUrl: fhir(), id: b.fhir_id });
  const uid = `2.25.${Date.now()}${Math.floor(Math.random() * 1e6)}`;
  const created = await fhirJson('ImagingStudy', { method: 'POST', body: JSON.stringify({
    resourceType: 'ImagingStudy', status: 'available', subject: { reference: `Patient/${b.fhir_id}` },
    identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }], started: new Date().toISOString(),
    endpoint: [{ reference: `Endpoint/${manifest.endpoint_id}` }],
  }) });
  assert.equal(created.status, 201);
  await page.waitForSelector(`[data-study-uid="${uid}"]`, { timeout: 5000 });
  assert.ok(await page.locator('[data-testid=new-study-notice]').isVisible());
  await page.evaluate(() => window.viewer.destroy());
  assert.deepEqual(problems, []);
  await page.close();
});
