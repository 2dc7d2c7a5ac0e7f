// A decode worker of the pool (src/imaging/workers.rs). The page posts the WebAssembly.Module
// it compiled, so nothing is fetched or compiled again here; then files to decode, whose
// buffers are transferred in, and the stored values are transferred back out.
import init, { __decodeWorkerFrame } from './emr_imaging.js';

let started;

self.onmessage = async ({ data }) => {
  if (data.module) {
    started = init({ module_or_path: data.module }).then(
      () => self.postMessage({ type: 'ready' }),
      () => self.postMessage({ type: 'failed' }),
    );
    return;
  }
  await started;
  const out = __decodeWorkerFrame(new Uint8Array(data.file), data.index);
  self.postMessage(out, out.samples ? [out.samples.buffer] : []);
};
