// cargo xtask bench, Node side: node node.mjs MANIFEST.json → one JSON result on stdout.
// The manifest (written by xtask/src/bench.rs) names the wasm-bindgen output and the corpus.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { benchParse, benchWindowLevel } from './common.mjs';

const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(import.meta.url);
const dicomParser = require('dicom-parser');
const wasm = await import(pathToFileURL(manifest.wasmJs).href);
const exports = wasm.initSync({ module: readFileSync(manifest.wasmBinary) });

const result = { env: `Node ${process.version}` };
if (manifest.do.includes('wl')) result.wl = benchWindowLevel(wasm, exports.memory, manifest.wl);
if (manifest.do.includes('parse')) {
  const files = manifest.files.map((f) => ({ name: f.name, bytes: new Uint8Array(readFileSync(f.path)) }));
  result.parse = benchParse(wasm, dicomParser, files, manifest.parse);
}
process.stdout.write(JSON.stringify(result) + '\n');
