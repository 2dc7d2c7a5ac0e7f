// cargo xtask bench, Node side: node node.mjs MANIFEST.json → one JSON result on stdout.
// The manifest (written by xtask/src/bench.rs) names the wasm-bindgen output and the corpus.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { benchDecode, benchParse, benchWindowLevel, cornerstoneDecoders } from './common.mjs';

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
if (manifest.do.includes('decode')) {
  // The wasm decoders as cornerstone's image loader loads them (the packages' `decodewasmjs`),
  // their log lines silenced (OpenJPEG prints a few per decode, on stdout).
  // (A new options object each: emscripten makes it the module.)
  const codec = (name) => require(`@cornerstonejs/${name}`)({ print: () => {}, printErr: () => {} });
  const modules = {
    openjpeg: await codec('codec-openjpeg/decodewasmjs'),
    openjph: await codec('codec-openjph/wasmjs'),
    charls: await codec('codec-charls/decodewasmjs'),
    jpeg: await codec('codec-libjpeg-turbo-8bit/decodewasmjs'),
  };
  const { Decoder } = require('jpeg-lossless-decoder-js');
  const files = manifest.decodeFiles.map((f) => ({ name: f.name, bytes: new Uint8Array(readFileSync(f.path)) }));
  result.decode = benchDecode(wasm, dicomParser, cornerstoneDecoders(modules, Decoder), files, manifest.decode);
}
process.stdout.write(JSON.stringify(result) + '\n');
