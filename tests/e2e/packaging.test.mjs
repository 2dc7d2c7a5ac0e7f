// The npm package as a front-end team gets it: `npm pack` the built package, install the
// tarball into a fresh Vite 7 project, type-check the app against the shipped .d.ts, `vite
// build`, serve the build from its own origin, and see the widget show the right image in
// Chromium, talking to the real servers through the dev server's proxy (CORS, loopback).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import {
  artifacts, compareCanvas, compareImg, expectedGray8, launch, loadManifest, newPage, recordRequests, requireEnv,
} from './helpers.mjs';

const pkgDir = fileURLToPath(new URL('../../pkg/', import.meta.url));
let browser;
let work;
before(async () => {
  browser = await launch();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'emr-imaging-vite-'));
});
after(async () => {
  await browser?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

function run(cmd, args, cwd, env = {}) {
  try {
    return execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600000 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

const APP_TS = `
import { EMRImagingComponent, decodeMode, ready, type EMRImagingError, type EMRImagingErrorCode, type ImageDisplayedDetail, type Study } from 'emr-imaging';
import 'emr-imaging/element';
import type { EMRImagingElement } from 'emr-imaging/element';

declare global { interface Window { shown: Promise<ImageDisplayedDetail>; jpeg: Promise<string>; decodeMode: typeof decodeMode; } }
window.decodeMode = decodeMode;

const fhirBase: string = import.meta.env.VITE_FHIR_BASE;
const patient: string = import.meta.env.VITE_PATIENT;

const el = document.querySelector('emr-imaging') as EMRImagingElement;
window.shown = new Promise((resolve, reject) => {
  setTimeout(() => reject(new Error('no image-displayed event within 60 s')), 60000);
  el.addEventListener('emr-imaging:image-displayed', (e) => resolve(e.detail));
  el.addEventListener('emr-imaging:error', (e) => { if (e.detail.code !== 'superseded') reject(new Error(e.detail.message)); });
});
el.token = async () => 'e2e-packaged';
el.setAttribute('fhir-base', fhirBase);
el.setAttribute('patient', patient);

window.jpeg = (async () => {
  await ready();
  const viewer = new EMRImagingComponent({ fhirBaseUrl: fhirBase, token: 'e2e-packaged', onError: (e: EMRImagingError) => { const code: EMRImagingErrorCode = e.code; console.warn(code); } });
  const studies: Study[] = await viewer.fetchStudies(patient);
  const study = studies.find((s) => s.modalities.includes('CT')) ?? studies[0];
  const series = study.series[0];
  const url: string = await viewer.loadImage(study.studyUid, series.uid, series.instances[0].uid);
  (document.getElementById('jpeg') as HTMLImageElement).src = url;
  return url;
})();
`;

/** A static file server for the Vite build. */
function serve(root) {
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
  const server = http.createServer((rq, rs) => {
    const rel = decodeURIComponent(new URL(rq.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.resolve(root, rel);
    if (rel === 'favicon.ico') {
      rs.writeHead(204).end();
      return;
    }
    if (!file.startsWith(path.resolve(root)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      rs.writeHead(404).end();
      return;
    }
    rs.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(rs);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('npm pack → fresh Vite 7 app → tsc + vite build → the widget shows the image', async () => {
  const proxy = requireEnv('E2E_PROXY_URL');
  const dataDir = requireEnv('E2E_DATA');
  const manifest = loadManifest(dataDir);
  const patient = manifest.patients.find((p) => p.studies.some((s) => s.series[0]?.modality === 'CT'));

  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], pkgDir))[0];
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['index.js', 'index.d.ts', 'node.js', 'release.js', 'element.js', 'element.d.ts', 'emr_imaging.js', 'emr_imaging_bg.wasm', 'decode_worker.js', 'package.json']) {
    assert.ok(files.includes(f), `the tarball holds ${f}: ${files}`);
  }
  // Our API only: no test hook, no dependency's stream adapters, no web-sys enum.
  const types = fs.readFileSync(path.join(pkgDir, 'emr_imaging.d.ts'), 'utf8');
  for (const foreign of ['__resources', 'IntoUnderlying', 'ReadableStreamType', 'Symbol.dispose']) {
    assert.ok(!types.includes(foreign), `emr_imaging.d.ts declares ${foreign}`);
  }
  const app = path.join(work, 'app');
  fs.mkdirSync(path.join(app, 'src'), { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
    name: 'emr-imaging-packaging-check', private: true, type: 'module',
    dependencies: { 'emr-imaging': `file:../${packed.filename}` },
    devDependencies: { vite: '^7.0.0', typescript: '^5.9.0' },
  }, null, 2));
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true,
      lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: ['vite/client'], skipLibCheck: false,
    },
    include: ['src'],
  }, null, 2));
  fs.writeFileSync(path.join(app, 'index.html'),
    '<!doctype html><html><head><meta charset="utf-8"><title>packaged</title></head><body>'
    + '<emr-imaging style="display:block;height:600px"></emr-imaging><img id="jpeg" alt="">'
    + '<script type="module" src="/src/main.ts"></script></body></html>');
  fs.writeFileSync(path.join(app, 'src/main.ts'), APP_TS);

  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app);
  run('npx', ['--no-install', 'tsc', '-p', '.'], app); // the shipped types compile in a strict app
  run('npx', ['--no-install', 'vite', 'build'], app, { VITE_FHIR_BASE: `${proxy}/fhir`, VITE_PATIENT: patient.fhir_id });
  const assets = fs.readdirSync(path.join(app, 'dist/assets'));
  assert.ok(assets.some((a) => a.endsWith('.wasm')), `vite emitted the wasm as an asset: ${assets}`);
  assert.equal(assets.filter((a) => a.endsWith('.wasm')).length, 1, `one wasm for the page and its workers: ${assets}`);
  // What the app ships, as a bundler (minifying the JS glue) leaves it: printed, not asserted.
  const sizes = assets.map((a) => {
    const bytes = fs.readFileSync(path.join(app, 'dist/assets', a));
    return `${a.replace(/-[\w-]{8}\./, '.')}: ${bytes.length} bytes, ${zlib.gzipSync(bytes, { level: 9 }).length} gzip`;
  });
  console.log(`vite build of the app: ${sizes.join('; ')}`);

  const server = await serve(path.join(app, 'dist'));
  try {
    const site = `http://127.0.0.1:${server.address().port}`;
    const { page, problems } = await newPage(browser);
    const requests = recordRequests(page);
    await page.goto(site);
    // The app's module runs once the wasm is in (top-level await), possibly after `load`.
    await page.waitForFunction(() => window.shown !== undefined && window.jpeg !== undefined, null, { timeout: 60000 });
    const shown = await page.evaluate(() => window.shown);
    const study = patient.studies.find((s) => s.uid === shown.studyUid);
    assert.ok(study, 'the shown study is the patient\'s');
    const instance = study.series[0].instances[0];
    assert.equal(shown.instanceUid, instance.sop_instance_uid);
    const canvas = await compareCanvas(page, expectedGray8(dataDir, instance.expected), instance.columns, instance.rows);
    assert.equal(canvas.mismatches, 0, `the widget's canvas equals the expected rendering: ${JSON.stringify(canvas)}`);
    // Vite bundled the decode worker and the app decodes in it.
    assert.equal(await page.evaluate(() => window.decodeMode().mode), 'workers');
    assert.ok(page.workers().length >= 1, 'a decode worker runs');

    const url = await page.evaluate(() => window.jpeg);
    assert.match(url, /^blob:/);
    const ct = patient.studies.find((s) => s.series[0]?.modality === 'CT').series[0].instances[0];
    const jpeg = await compareImg(page, '#jpeg', expectedGray8(dataDir, ct.expected), ct.columns, ct.rows);
    assert.ok(jpeg.mean >= 0 && jpeg.mean <= 3, JSON.stringify(jpeg));
    await page.screenshot({ path: path.join(artifacts, 'packaging-vite.png') });

    const fhirOrigin = new URL(proxy).origin;
    assert.deepEqual(requests.filter((r) => r.authorization && new URL(r.url).origin !== fhirOrigin), []);
    assert.ok(requests.some((r) => r.authorization === 'Bearer e2e-packaged'));
    assert.deepEqual(problems, []);
    await page.close();
  } finally {
    server.close();
  }
});

test('the package in Node: initSync at import, constructing with a URL works', async () => {
  const out = run(process.execPath, ['--input-type=module', '-e', `
    import { EMRImagingComponent, ready } from 'emr-imaging';
    await ready();
    const c = new EMRImagingComponent('http://127.0.0.1:1/fhir');
    let code = null;
    try { new EMRImagingComponent('ftp://x'); } catch (e) { code = e.code; }
    console.log(JSON.stringify({ type: typeof c.loadPatientImages, code }));
  `], path.join(work, 'app'));
  assert.deepEqual(JSON.parse(out.trim()), { type: 'function', code: 'invalid-options' });
});
