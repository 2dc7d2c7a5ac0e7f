// cargo xtask bench, Chromium side: browser.mjs loads this page and awaits window.runBench().
import init, * as wasm from '/pkg/emr_imaging_bench_wasm.js';
import { benchDecode, benchParse, benchWindowLevel, cornerstoneDecoders } from '/common.mjs';
import { Decoder as LosslessDecoder } from '/codec/lossless.js';

window.runBench = async () => {
  const exports = await init({ module_or_path: '/pkg/emr_imaging_bench_wasm_bg.wasm' });
  const manifest = await (await fetch('/manifest.json')).json();
  const result = { env: navigator.userAgent.match(/(Headless)?Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent, isolated: self.crossOriginIsolated };
  if (manifest.do.includes('wl')) result.wl = benchWindowLevel(wasm, exports.memory, manifest.wl);
  if (manifest.do.includes('parse')) {
    const files = [];
    for (let i = 0; i < manifest.files.length; i++) {
      const bytes = new Uint8Array(await (await fetch(`/corpus/${i}`)).arrayBuffer());
      files.push({ name: manifest.files[i].name, bytes });
    }
    result.parse = benchParse(wasm, window.dicomParser, files, manifest.parse);
  }
  if (manifest.do.includes('decode')) {
    const quiet = () => ({ print: () => {}, printErr: () => {} });
    const modules = {
      openjpeg: await window.OpenJPEGWASM(quiet()),
      openjph: await window.Module(quiet()),
      charls: await window.CharLSWASM(quiet()),
      jpeg: await window.libjpegturbowasm_decode(quiet()),
    };
    const files = [];
    for (let i = 0; i < manifest.decodeFiles.length; i++) {
      const bytes = new Uint8Array(await (await fetch(`/decode/${i}`)).arrayBuffer());
      files.push({ name: manifest.decodeFiles[i].name, bytes });
    }
    result.decode = benchDecode(wasm, window.dicomParser, cornerstoneDecoders(modules, LosslessDecoder), files, manifest.decode);
  }
  document.getElementById('out').textContent = JSON.stringify(result, null, 1);
  return result;
};
window.benchReady = true;
