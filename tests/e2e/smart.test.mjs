// SMART App Launch of the hosted viewer against real servers: the `oidc-provider`
// authorization server (smart-server.mjs), a second Helios FHIR Server with authorization on
// (it checks the RS256 JWTs against the server's JWKS and enforces SMART v2 scopes) over a
// copy of the test data, and Orthanc behind the dev server's proxy, whose journal shows
// which token each DICOMweb request carried. The viewer is `pkg/viewer/` on a static host; a
// host page that signs in with the SMART JS client (`fhirclient`) and embeds the widget is on
// a static host of its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clearJournal, ctOf, displayedAfter, journal, launch, loadManifest, newPage, recordRequests, requireEnv, settled } from './helpers.mjs';

const pkg = fileURLToPath(new URL('../../pkg/', import.meta.url));
const pkgViewer = path.join(pkg, 'viewer');
const fhirclientBuild = fileURLToPath(new URL('./node_modules/fhirclient/build/fhir-client.js', import.meta.url));

/**
 * An EMR page with the widget: an EHR launch arrives with `iss` and `launch` and calls
 * `smartLaunch`; the sign-in comes back with `code` and `state`, and `fromSmartLaunch` ends it.
 * `window.launched` settles with the launch context, or the error's code and message.
 */
function widgetPage(smart, allowedOrigins) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>EMR chart</title><link rel="icon" href="data:,"></head>
<body><div id="images" style="width:800px;height:600px"></div>
<script type="module">
import { EMRImagingComponent, smartLaunch } from './index.js';
const smart = ${JSON.stringify(smart)};
const query = new URLSearchParams(location.search);
window.launched = (async () => {
  if (!query.has('code') && !query.has('error')) {
    await smartLaunch(smart);
    return { started: true };
  }
  const component = await EMRImagingComponent.fromSmartLaunch({ smart, allowedOrigins: ${JSON.stringify(allowedOrigins)} });
  window.component = component;
  component.mount(document.getElementById('images'));
  window.opened = [];
  component.on('study-open', (study) => window.opened.push(study.studyUid));
  await component.openLaunch();
  return component.launchContext;
})().catch((e) => ({ code: e.code, message: e.message }));
</script></body></html>`;
}

/** What the widget page's launch settled with. */
async function launched(page) {
  await page.waitForFunction(() => window.launched !== undefined, null, { timeout: 30000 });
  return page.evaluate(() => window.launched);
}

/** The cache partition of a FHIR base and user, as the widget names it (cache::policy::partition). */
function partitionOf(fhirBase, user) {
  const bytes = [...Buffer.from(fhirBase), 0, ...Buffer.from(user)];
  const hash = (seed) => {
    let h = seed;
    for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
    return h.toString(16).padStart(16, '0');
  };
  return hash(0xcbf29ce484222325n) + hash(0x84222325cbf29ce4n);
}

/** The partitions of the images the page's widget keeps in IndexedDB. */
function storedPartitions(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('emr-imaging-cache');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const all = open.result.transaction('meta').objectStore('meta').getAll();
      all.onsuccess = () => { resolve([...new Set(all.result.map((r) => r.partition))]); open.result.close(); };
      all.onerror = () => reject(all.error);
    };
  }));
}
const here = fileURLToPath(new URL('.', import.meta.url));
const children = [];
let browser;
let site;
let viewer; // the viewer's origin
let hostSite;
let host; // the origin of the page that uses fhirclient
let fhir; // the FHIR base with authorization on (the issuer)
let as; // the authorization server
let proxy;
let manifest;
/** Which token each request to Helios carried, in order: `{at, method, path, tokenTail}`. */
const fhirJournal = [];

/**
 * A pass-through in front of Helios that notes each request's token (its last 12 characters,
 * as the dev server's journal does): the FHIR side of "never an old token again".
 */
function recordingPassThrough(port, upstreamPort) {
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization;
    fhirJournal.push({ at: Date.now(), method: req.method, path: req.url, tokenTail: auth ? auth.slice(-12) : null });
    const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
let passThrough;

/** The tokens of `tails` in the order they first appear, and whether one came back after its successor. */
function tokenOrder(tails) {
  const order = [];
  let cameBack = null;
  for (const tail of tails.filter(Boolean)) {
    if (order.at(-1) === tail) continue;
    if (order.includes(tail)) cameBack = tail;
    else order.push(tail);
  }
  return { order, cameBack };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

async function waitFor(url, okStatuses = [200]) {
  for (let i = 0; i < 600; i++) {
    try { if (okStatuses.includes((await fetch(url)).status)) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

function start(cmd, args, options, name) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  child.on('exit', (code) => { if (code) console.error(`${name} exited ${code}:\n${log.slice(-2000)}`); });
  children.push(child);
  return child;
}

before(async () => {
  browser = await launch();
  proxy = new URL(requireEnv('E2E_PROXY_URL')).origin;
  manifest = loadManifest(requireEnv('E2E_DATA'));
  const [viewerPort, asPort, fhirPort, hfsPort, hostPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  viewer = `http://localhost:${viewerPort}`;
  host = `http://127.0.0.1:${hostPort}`;
  as = `http://127.0.0.1:${asPort}`;
  // The issuer is the recording pass-through; Helios listens behind it.
  fhir = `http://127.0.0.1:${fhirPort}`;
  passThrough = await recordingPassThrough(fhirPort, hfsPort);
  // The authorization server first: Helios fetches its JWKS at boot and exits without it.
  start('node', [path.join(here, 'smart-server.mjs'), String(asPort), fhir, `${viewer}/viewer/index.html,${viewer}/widget/smart.html,${host}/index.html`,
    manifest.patients.map((p) => p.fhir_id).join(',')], {}, 'smart-server');
  await waitFor(`${as}/jwks`);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'emr-imaging-hfs-auth-'));
  fs.copyFileSync(requireEnv('E2E_SEARCH_PARAMETERS'), path.join(data, 'search-parameters-r4.json'));
  for (const suffix of ['', '-wal', '-shm']) {
    const from = requireEnv('E2E_HFS_DB') + suffix;
    if (fs.existsSync(from)) fs.copyFileSync(from, path.join(data, `hfs.db${suffix}`));
  }
  start(requireEnv('E2E_HFS_BIN'), [], {
    cwd: data,
    env: {
      ...process.env,
      HFS_SERVER_HOST: '127.0.0.1', HFS_SERVER_PORT: String(hfsPort), HFS_BASE_URL: fhir, HFS_DATA_DIR: data,
      HFS_DATABASE_URL: path.join(data, 'hfs.db'), HFS_NL_SEARCH_ENABLED: 'false', HFS_UI_ENABLED: 'false', RUST_MIN_STACK: '8388608',
      HFS_AUTH_ENABLED: 'true', HFS_AUTH_JWKS_URL: `${as}/jwks`, HFS_AUTH_ISSUER: as, HFS_AUTH_AUDIENCE: fhir, HFS_AUTH_ALGORITHMS: 'RS256',
      HFS_SMART_AUTHORIZE_ENDPOINT: `${as}/auth`, HFS_SMART_TOKEN_ENDPOINT: `${as}/token`,
      HFS_ENABLE_CORS: 'true', HFS_CORS_ORIGINS: `${viewer},${host}`,
    },
  }, 'hfs (auth on)');
  await waitFor(`${fhir}/health`);
  site = fs.mkdtempSync(path.join(os.tmpdir(), 'emr-imaging-smart-site-'));
  fs.cpSync(pkgViewer, path.join(site, 'viewer'), { recursive: true });
  fs.writeFileSync(path.join(site, 'viewer', 'config.json'), JSON.stringify({
    fhirBaseUrl: fhir,
    allowedOrigins: [proxy],
    // Helios confines patient/ scopes to the patient's compartment, which holds no Endpoint:
    // the Endpoints an ImagingStudy names are read with user/Endpoint.rs.
    smart: {
      clientId: 'emr-imaging-viewer',
      allowedIssuers: [fhir],
      scope: 'launch openid fhirUser online_access patient/ImagingStudy.rs patient/Endpoint.rs user/Endpoint.rs patient/Patient.rs patient/DiagnosticReport.rs',
    },
  }));
  // A page that embeds the widget from the npm package and runs the launch itself.
  fs.cpSync(pkg, path.join(site, 'widget'), { recursive: true, filter: (from) => from !== pkgViewer });
  fs.writeFileSync(path.join(site, 'widget', 'smart.html'), widgetPage({
    clientId: 'emr-imaging-viewer',
    allowedIssuers: [fhir],
    scope: 'launch openid fhirUser online_access patient/ImagingStudy.rs patient/Endpoint.rs user/Endpoint.rs patient/Patient.rs patient/DiagnosticReport.rs',
  }, [proxy]));
  start('python3', ['-m', 'http.server', String(viewerPort), '--bind', '127.0.0.1', '--directory', site], {}, 'http.server');
  await waitFor(`${viewer}/viewer/`);
  hostSite = fs.mkdtempSync(path.join(os.tmpdir(), 'emr-imaging-fhirclient-host-'));
  fs.cpSync(pkg, path.join(hostSite, 'pkg'), { recursive: true, filter: (from) => from !== pkgViewer });
  fs.copyFileSync(fhirclientBuild, path.join(hostSite, 'fhir-client.js'));
  fs.writeFileSync(path.join(hostSite, 'index.html'), fhirclientHost({
    clientId: 'emr-imaging-viewer',
    iss: fhir,
    scope: 'launch/patient openid fhirUser online_access patient/ImagingStudy.rs patient/Endpoint.rs user/Endpoint.rs patient/Patient.rs patient/DiagnosticReport.rs',
    allowedOrigins: [proxy],
  }));
  start('python3', ['-m', 'http.server', String(hostPort), '--bind', '127.0.0.1', '--directory', hostSite], {}, 'http.server (host)');
  await waitFor(`${host}/index.html`);
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill('SIGTERM');
  passThrough?.close();
  if (site) fs.rmSync(site, { recursive: true, force: true });
  if (hostSite) fs.rmSync(hostSite, { recursive: true, force: true });
});

/** Fills the authorization server's sign-in page (and its patient picker, standalone). */
async function signIn(page, patient = null, back = viewer) {
  await page.waitForURL((u) => u.href.startsWith(`${as}/interaction/`), { timeout: 30000 });
  if (patient) await page.selectOption('[data-testid=smart-patient]', patient);
  await page.click('[data-testid=smart-submit]');
  await page.waitForURL((u) => u.href.startsWith(`${back}/`), { timeout: 30000 });
}

/**
 * A host page as a site that already uses fhirclient writes it: without `code` it starts
 * fhirclient's standalone launch, on return `FHIR.oauth2.ready()` gives the client, and the
 * widget gets fhirclient's current access token from a provider. `window.emr` lets the test
 * act as the host's own code.
 */
function fhirclientHost({ clientId, iss, scope, allowedOrigins }) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Host with fhirclient</title><link rel="icon" href="data:,">
<script src="fhir-client.js"></script></head><body>
<div id="imaging" style="width:1100px;height:700px"></div>
<script type="module">
  import { EMRImagingComponent } from './pkg/index.js';
  // oidc-provider, like most servers, wants a public client's client_id on a refresh.
  FHIR.oauth2.settings.refreshTokenWithClientId = true;
  if (!new URLSearchParams(location.search).has('state')) {
    await FHIR.oauth2.authorize(${JSON.stringify({ clientId, iss, scope, redirectUri: 'index.html', pkceMode: 'required' })});
  } else {
    const client = await FHIR.oauth2.ready();
    const token = () => client.state.tokenResponse.access_token;
    const viewer = new EMRImagingComponent({ fhirBaseUrl: client.state.serverUrl, allowedOrigins: ${JSON.stringify(allowedOrigins)}, token });
    viewer.mount(document.getElementById('imaging'));
    window.emr = { client, viewer, token };
  }
</script></body></html>`;
}

/** No token in the viewer's storage: localStorage empty, sessionStorage at most the launch's state. */
async function noTokenStored(page, tokens) {
  if (!page.url().startsWith(viewer)) return;
  const stored = await page.evaluate(() => ({
    local: Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]),
    session: Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]),
  }));
  assert.deepEqual(stored.local, [], 'nothing in localStorage');
  for (const [key, value] of stored.session) {
    assert.equal(key, 'emr-imaging:smart-launch', 'only the launch under way');
    assert.deepEqual(Object.keys(JSON.parse(value)).sort(), ['iss', 'state', 'verifier']);
    for (const token of tokens) assert.ok(!value.includes(token), 'no token in sessionStorage');
  }
}

const bearers = (requests) => [...new Set(requests.map((r) => r.authorization).filter((a) => a?.startsWith('Bearer ')).map((a) => a.slice(7)))];

async function waitDisplayed(page) {
  try {
    await page.waitForFunction(() => document.querySelector('[data-testid=viewport-canvas]')?.width > 0, null, { timeout: 60000 });
  } catch (e) {
    // What the viewer said instead, for the log.
    const said = await page.evaluate(() => [...document.querySelectorAll('[data-testid=viewer-error], [data-testid=status]')].map((n) => n.innerText)).catch(() => []);
    throw new Error(`no image shown; the viewer says: ${JSON.stringify(said)}`);
  }
}

async function ehrLaunch(page, patient, studyUid) {
  const { launch: value } = await (await fetch(`${as}/test/launch`, { method: 'POST', body: JSON.stringify({ patient, studyUid }) })).json();
  await page.goto(`${viewer}/viewer/launch.html?iss=${encodeURIComponent(fhir)}&launch=${value}`);
}

test('Helios with authorization on answers 401 without a valid token', async () => {
  assert.equal((await fetch(`${fhir}/Patient`)).status, 401);
  assert.equal((await fetch(`${fhir}/Patient`, { headers: { Authorization: 'Bearer not-a-jwt' } })).status, 401);
  const forged = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
  assert.equal((await fetch(`${fhir}/ImagingStudy`, { headers: { Authorization: `Bearer ${forged}` } })).status, 401);
});

test('an EHR launch opens the study fhirContext names, with no token stored at any step', async () => {
  const { patient, study } = ctOf(manifest);
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  const opened = [];
  await page.exposeFunction('studyOpened', (uid) => opened.push(uid));
  await page.addInitScript(() => document.addEventListener('emr-imaging:study-open', (e) => window.studyOpened(e.detail.studyUid)));
  const started = Date.now();
  await ehrLaunch(page, patient.fhir_id, study.uid);
  await signIn(page);
  assert.ok(!/[?&](code|state)=/.test(page.url()), `code and state left the address: ${page.url()}`);
  await waitDisplayed(page);
  console.log(`EHR launch to first image (sign-in included): ${Date.now() - started} ms`);
  await page.waitForFunction(() => true);
  assert.ok(opened.includes(study.uid), `the fhirContext study was opened: ${opened}`);
  const tokens = bearers(requests);
  assert.ok(tokens.length >= 1, 'a bearer token was used');
  await noTokenStored(page, tokens);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the state and verifier are gone once used');
  assert.ok(!page.url().includes('code='));
  const banner = await page.locator('[data-testid=patient-banner]').innerText();
  assert.ok(banner.toUpperCase().includes(patient.family.toUpperCase()), banner);
  for (const r of requests.filter((r) => r.authorization?.startsWith('Bearer '))) {
    assert.ok([new URL(fhir).origin, proxy].includes(new URL(r.url).origin), `token only to the servers: ${r.url}`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('a standalone launch shows the patient picked at sign-in', async () => {
  const other = manifest.patients[1];
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  await page.goto(`${viewer}/viewer/index.html`);
  await signIn(page, other.fhir_id);
  await waitDisplayed(page);
  const banner = await page.locator('[data-testid=patient-banner]').innerText();
  assert.ok(banner.toUpperCase().includes(other.family.toUpperCase()), banner);
  await noTokenStored(page, bearers(requests));
  assert.deepEqual(problems, []);
  await page.close();
});

test('a host that uses fhirclient hands its token over; after client.refresh() and setToken only the new token is sent', async () => {
  const { patient } = ctOf(manifest);
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  // fhirclient's standalone launch: its authorize, our sign-in page, its ready().
  await page.goto(`${host}/index.html`);
  await signIn(page, patient.fhir_id, host);
  await page.waitForFunction(() => window.emr !== undefined, null, { timeout: 30000 });
  assert.equal(await page.evaluate(() => emr.client.patient.id), patient.fhir_id, 'the patient picked at sign-in');
  const first = await displayedAfter(page, () => page.evaluate(() => emr.viewer.loadPatientImages(emr.client.patient.id)));
  const old = await page.evaluate(() => emr.token());
  assert.ok(fhirJournal.some((e) => e.tokenTail === old.slice(-12)), "Helios was sent fhirclient's token");

  // The host renews through fhirclient and hands the same provider over again: the held token
  // is dropped, and the provider is asked before the next request.
  await settled(proxy);
  const fhirFrom = fhirJournal.length;
  await clearJournal(proxy);
  const fresh = await page.evaluate(async () => {
    await emr.client.refresh();
    emr.viewer.setToken(emr.token);
    return emr.token();
  });
  assert.notEqual(fresh, old, 'client.refresh() brought a new access token');
  // New requests to both servers: the patient again (FHIR), then the study not shown yet.
  await displayedAfter(page, () => page.evaluate(() => emr.viewer.loadPatientImages(emr.client.patient.id)));
  const other = patient.studies.find((s) => s.uid !== first.studyUid);
  await displayedAfter(page, () => page.click(`[data-study-uid="${other.uid}"]`), other.uid);
  const onFhir = fhirJournal.slice(fhirFrom).filter((e) => e.method !== 'OPTIONS');
  const onDicomweb = (await journal(proxy)).filter((e) => e.method !== 'OPTIONS' && e.path.startsWith('/dicom-web/'));
  console.log(`after client.refresh(): Helios ${onFhir.length} requests, Orthanc's proxy ${onDicomweb.length}`);
  assert.ok(onFhir.length > 0, 'Helios was asked after the refresh');
  assert.ok(onDicomweb.length > 0, 'Orthanc was asked after the refresh');
  assert.deepEqual([...new Set(onFhir.map((e) => e.tokenTail))], [fresh.slice(-12)], 'Helios: the new token on every request, never the old one');
  assert.deepEqual([...new Set(onDicomweb.map((e) => e.token_tail))], [fresh.slice(-12)], 'Orthanc: the new token on every request, never the old one');
  for (const r of requests.filter((r) => r.authorization?.startsWith('Bearer '))) {
    assert.ok([new URL(fhir).origin, proxy, as].includes(new URL(r.url).origin), `token only to the servers: ${r.url}`);
  }

  // Nothing in localStorage. sessionStorage is fhirclient's alone: SMART_KEY names its state,
  // which holds the token response, refresh token included (fhirclient's choice, not the widget's).
  const stored = await page.evaluate(() => ({
    local: Object.keys(localStorage),
    session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
  }));
  assert.deepEqual(stored.local, [], 'nothing in localStorage');
  const key = JSON.parse(stored.session.SMART_KEY);
  assert.deepEqual(Object.keys(stored.session).sort(), ['SMART_KEY', key].sort(), "only fhirclient's entries in sessionStorage");
  const state = JSON.parse(stored.session[key]);
  assert.equal(state.tokenResponse.access_token, fresh, 'fhirclient keeps the refreshed token response');
  console.log(`fhirclient's sessionStorage: SMART_KEY → {${Object.keys(state).sort()}}, tokenResponse {${Object.keys(state.tokenResponse).sort()}}`);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a wrong state, a missing verifier and an iss outside allowedIssuers are each refused', async () => {
  const { page } = await newPage(browser);
  await page.goto(`${viewer}/viewer/launch.html?iss=${encodeURIComponent('https://evil.example/fhir')}&launch=x`);
  assert.match(await page.locator('[data-testid=viewer-error]').innerText(), /not a FHIR server this viewer may be launched from/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'nothing started');
  // No launch was started in this tab: no verifier.
  await page.goto(`${viewer}/viewer/index.html?code=stolen&state=guessed`);
  assert.match(await page.locator('[data-testid=viewer-error]').innerText(), /not started in this tab/);
  assert.ok(!page.url().includes('code='), 'the code left the address');
  // A launch under way, answered with another state.
  const { patient, study } = ctOf(manifest);
  await ehrLaunch(page, patient.fhir_id, study.uid);
  await page.waitForURL((u) => u.href.startsWith(`${as}/interaction/`));
  await page.goto(`${viewer}/viewer/index.html?code=stolen&state=guessed`);
  assert.match(await page.locator('[data-testid=viewer-error]').innerText(), /does not carry the state this tab sent/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the state and verifier were deleted once read');
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await page.close();
});

test('a revoked refresh token ends in "session expired" and the images shown stay', async () => {
  const { patient, study } = ctOf(manifest);
  const { page } = await newPage(browser);
  await ehrLaunch(page, patient.fhir_id, study.uid);
  await signIn(page);
  await waitDisplayed(page);
  await fetch(`${as}/test/revoke`, { method: 'POST' });
  // The refresh at three quarters of the 60 s token fails.
  await page.waitForFunction(() => /session expired/.test(document.querySelector('[data-testid=status]')?.innerText ?? ''), null, { timeout: 90000 });
  assert.ok(await page.evaluate(() => document.querySelector('[data-testid=viewport-canvas]').width > 0), 'the image stays');
  await noTokenStored(page, []);
  await page.close();
});

test('a 60 s token is renewed over 3 minutes: the proxies see each new token and never an old one again', async () => {
  const { patient } = ctOf(manifest);
  const { page, problems } = await newPage(browser);
  const errors = [];
  await page.exposeFunction('viewerError', (e) => errors.push(e));
  await page.addInitScript(() => document.addEventListener('emr-imaging:error', (e) => window.viewerError(`${e.detail.code}: ${e.detail.message}`)));
  const requests = recordRequests(page);
  await clearJournal(proxy);
  await ehrLaunch(page, patient.fhir_id, null);
  await signIn(page);
  await waitDisplayed(page);
  const fhirFrom = fhirJournal.length;
  const dicomweb = [];
  const started = Date.now();
  const items = page.locator('[data-testid=study-list] li');
  for (let i = 0; Date.now() - started < 180000; i++) {
    await new Promise((r) => setTimeout(r, 15000));
    // Switch studies, so the servers are asked with whatever token is current.
    await items.nth(i % Math.max(1, await items.count())).click().catch(() => {});
    const entries = await journal(proxy);
    dicomweb.push(...entries.map((e) => e.token_tail));
    await clearJournal(proxy);
    const renewals = requests.filter((r) => r.url.startsWith(`${as}/token`)).length;
    const fhirNow = fhirJournal.slice(fhirFrom);
    console.log(`${Math.round((Date.now() - started) / 1000)} s: token endpoint called ${renewals} times; Helios saw ${fhirNow.length} requests with ${tokenOrder(fhirNow.map((e) => e.tokenTail)).order.length} tokens, Orthanc's proxy ${dicomweb.length} with ${tokenOrder(dicomweb).order.length}`);
    await noTokenStored(page, bearers(requests));
  }
  const onFhir = tokenOrder(fhirJournal.slice(fhirFrom).map((e) => e.tokenTail));
  const onDicomweb = tokenOrder(dicomweb);
  console.log(`tokens over 3 min, in order: Helios ${onFhir.order.length}, Orthanc ${onDicomweb.order.length}`);
  assert.ok(onFhir.order.length >= 3, `renewed at least twice: ${onFhir.order.length}`);
  assert.equal(onFhir.cameBack, null, 'no token came back to Helios after its successor');
  assert.equal(onDicomweb.cameBack, null, 'no token came back to Orthanc after its successor');
  // Both servers saw the tokens in one order: Orthanc's are Helios's, in the same sequence.
  const positions = onDicomweb.order.map((t) => onFhir.order.indexOf(t));
  assert.ok(positions.every((p, k) => p >= 0 && (k === 0 || p > positions[k - 1])), `one order: ${positions}`);
  assert.deepEqual(errors.filter((e) => !e.startsWith('superseded')), [], 'no 401 reached the user');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the widget runs an EHR launch itself: smartLaunch, then fromSmartLaunch and openLaunch', async () => {
  const { patient, study } = ctOf(manifest);
  const { page, problems } = await newPage(browser);
  const requests = recordRequests(page);
  const { launch: value } = await (await fetch(`${as}/test/launch`, { method: 'POST', body: JSON.stringify({ patient: patient.fhir_id, studyUid: study.uid }) })).json();
  await page.goto(`${viewer}/widget/smart.html?iss=${encodeURIComponent(fhir)}&launch=${value}`);
  await signIn(page);
  const context = await launched(page);
  assert.ok(!/[?&](code|state)=/.test(page.url()), `code and state left the address: ${page.url()}`);
  assert.equal(context.code, undefined, `the launch failed: ${JSON.stringify(context)}`);
  assert.equal(context.patient, patient.fhir_id);
  assert.deepEqual(context.study, { studyUid: study.uid });
  assert.equal(context.needPatientBanner, true);
  // The id_token, checked against the issuer's keys, names the user: not the access token.
  assert.equal(context.user, 'Practitioner/dr-e2e');
  await waitDisplayed(page);
  assert.deepEqual(await page.evaluate(() => window.opened), [study.uid], 'openLaunch opened the fhirContext study');
  const tokens = bearers(requests);
  assert.ok(tokens.length >= 1, 'the images came with the launch token');
  await noTokenStored(page, tokens);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'the launch state is gone once used');
  // The cache partition is the id_token's user's.
  // Writes are batched after display: wait until the first batch has landed.
  for (const deadline = Date.now() + 30000; (await storedPartitions(page)).length === 0 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
  }
  // (The bridge holds the base as a URL, with its trailing slash.)
  assert.notEqual(partitionOf(`${fhir}/`, 'Practitioner/dr-e2e'), partitionOf(`${fhir}/`, 'dr-e2e'));
  assert.deepEqual(await storedPartitions(page), [partitionOf(`${fhir}/`, 'Practitioner/dr-e2e')], 'not the access token sub\'s');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the widget refuses a launch whose id_token was altered, and without a sign-in answer', async () => {
  const { patient, study } = ctOf(manifest);
  const { page } = await newPage(browser);
  // The token response's id_token with another user put in: its signature no longer holds.
  await page.route(`${as}/token`, async (route) => {
    const answer = await route.fetch();
    const body = await answer.json();
    const [header, claims, signature] = body.id_token.split('.');
    const changed = { ...JSON.parse(Buffer.from(claims, 'base64url')), sub: 'someone-else', fhirUser: 'Practitioner/someone-else' };
    body.id_token = [header, Buffer.from(JSON.stringify(changed)).toString('base64url'), signature].join('.');
    await route.fulfill({ response: answer, json: body });
  });
  const { launch: value } = await (await fetch(`${as}/test/launch`, { method: 'POST', body: JSON.stringify({ patient: patient.fhir_id, studyUid: study.uid }) })).json();
  await page.goto(`${viewer}/widget/smart.html?iss=${encodeURIComponent(fhir)}&launch=${value}`);
  await signIn(page);
  const refused = await launched(page);
  assert.equal(refused.code, 'smart-launch', JSON.stringify(refused));
  assert.match(refused.message, /signature does not check/);
  assert.equal(await page.evaluate(() => window.component), undefined, 'no component, so no image');
  await page.unroute(`${as}/token`);
  // A redirect page opened without a sign-in answer.
  await page.goto(`${viewer}/widget/smart.html?code=forged&state=forged`);
  const stray = await launched(page);
  assert.equal(stray.code, 'smart-launch');
  assert.match(stray.message, /not started in this tab/);
  await page.close();
});

/**
 * The EHR's page on another site (127.0.0.1 against the viewer's localhost) framing an EHR
 * launch of the CT study, up to the frame's sign-in button; `done()` closes it all.
 */
async function framedLaunch() {
  const { patient, study } = ctOf(manifest);
  const { launch: value } = await (await fetch(`${as}/test/launch`, { method: 'POST', body: JSON.stringify({ patient: patient.fhir_id, studyUid: study.uid }) })).json();
  const src = `${viewer}/viewer/launch.html?iss=${encodeURIComponent(fhir)}&launch=${value}`;
  const ehr = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>EHR</title><link rel="icon" href="data:,"><iframe src="${src}" style="width:900px;height:700px"></iframe>`);
  });
  await new Promise((r) => ehr.listen(0, '127.0.0.1', r));
  const { page, problems } = await newPage(browser);
  const done = async () => { await page.close(); ehr.close(); };
  try {
    await page.goto(`http://127.0.0.1:${ehr.address().port}/`);
    const button = page.frameLocator('iframe').locator('[data-testid=smart-sign-in]');
    await button.waitFor({ timeout: 30000 });
    assert.equal(await page.frames()[1].evaluate(() => { try { sessionStorage.length; return 'stored'; } catch { return 'denied'; } }), 'denied');
    return { patient, page, problems, button, done };
  } catch (e) {
    await done();
    throw e;
  }
}

test('an EHR launch into a cross-site frame without storage signs in through a window of its own', async () => {
  const { patient, page, problems, button, done } = await framedLaunch();
  try {
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await signIn(popup);
    // The window hands the answer to the frame and closes; the frame exchanges the code.
    await popup.waitForEvent('close', { timeout: 30000 });
    const viewerFrame = page.frames().find((f) => f.url().startsWith(viewer));
    await waitDisplayed(viewerFrame);
    const shown = await viewerFrame.evaluate(() => document.querySelector('[data-testid=overlay-patient-id]')?.innerText ?? '');
    assert.ok(shown.includes(patient.mrn), `the launch patient's image: ${shown}`);
    assert.ok(!/[?&](code|state)=/.test(viewerFrame.url()), 'no code or state in the frame address');
    assert.deepEqual(problems, []);
  } finally {
    await done();
  }
});

test('a sign-in window closed before signing in: the frame says so, and shows no image', async () => {
  const { page, button, done } = await framedLaunch();
  try {
    const [popup] = await Promise.all([page.waitForEvent('popup'), button.click()]);
    await popup.waitForURL((u) => u.href.startsWith(`${as}/interaction/`), { timeout: 30000 });
    await popup.close();
    const viewerFrame = page.frames().find((f) => f.url().startsWith(viewer));
    await viewerFrame.waitForFunction(() => /closed before the sign-in ended/.test(document.body.innerText), null, { timeout: 30000 });
    assert.equal(await viewerFrame.evaluate(() => document.querySelector('[data-testid=viewport-canvas]')?.width ?? 0), 0, 'no image');
  } finally {
    await done();
  }
});
