// cargo xtask bench, Chromium side: browser.mjs loads this page and awaits window.runBench().
import init, * as wasm from '/pkg/emr_imaging_bench_wasm.js';
import { benchParse, benchWindowLevel } from '/common.mjs';

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
  document.getElementById('out').textContent = JSON.stringify(result, null, 1);
  return result;
};
window.benchReady = true;
