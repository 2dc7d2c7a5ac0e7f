// cargo xtask bench, Chromium side: node browser.mjs MANIFEST.json → one JSON result on stdout.
// Serves page.html, the wasm-bindgen output, dicom-parser and the corpus from a tiny local
// server (cross-origin isolated, for fine timers), and drives Debian's headless chromium with
// playwright-core (no browser download).
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const pkgDir = dirname(manifest.wasmJs);

// Where each codec's files are (the emscripten script and its .wasm share a name).
const dist = (pkg) => dirname(require.resolve(`@cornerstonejs/${pkg}`));
const codecFiles = {
  openjpegwasm_decode: dist('codec-openjpeg'),
  charlswasm_decode: dist('codec-charls'),
  libjpegturbowasm_decode: dist('codec-libjpeg-turbo-8bit'),
  openjphjs: dist('codec-openjph'),
};
const types = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
function route(path) {
  if (path === '/') return [join(here, 'page.html'), '.html'];
  if (path === '/page.mjs' || path === '/common.mjs') return [join(here, path.slice(1)), '.mjs'];
  if (path === '/dicom-parser.js') return [require.resolve('dicom-parser/dist/dicomParser.min.js'), '.js'];
  if (path === '/manifest.json') return [process.argv[2], '.json'];
  let m = path.match(/^\/pkg\/([\w.-]+\.(js|wasm))$/);
  if (m) return [join(pkgDir, m[1]), '.' + m[2]];
  m = path.match(/^\/corpus\/(\d+)$/);
  if (m && manifest.files[+m[1]]) return [manifest.files[+m[1]].path, '.bin'];
  m = path.match(/^\/decode\/(\d+)$/);
  if (m && manifest.decodeFiles[+m[1]]) return [manifest.decodeFiles[+m[1]].path, '.bin'];
  // Cornerstone's codecs: each emscripten script finds its .wasm next to itself.
  m = path.match(/^\/codec\/([\w-]+)\.(js|wasm)$/);
  if (m && codecFiles[m[1]]) return [join(codecFiles[m[1]], `${m[1]}.${m[2]}`), '.' + m[2]];
  if (path === '/codec/lossless.js') return [require.resolve('jpeg-lossless-decoder-js').replace(/cjs\/lossless\.cjs$/, 'lossless.js'), '.js'];
  return null;
}
const server = createServer((req, res) => {
  const hit = route(new URL(req.url, 'http://x').pathname);
  if (!hit) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, {
    'content-type': types[hit[1]] ?? 'application/octet-stream',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cache-control': 'no-store',
  });
  res.end(readFileSync(hit[0]));
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForFunction(() => window.benchReady === true);
  const result = await page.evaluate(() => window.runBench(), undefined);
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await browser.close();
  server.close();
}
