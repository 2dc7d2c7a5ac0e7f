// The package's browser entry (`import … from 'emr-imaging'`). Importing it fetches and
// instantiates the wasm once (top-level await), so `new EMRImagingComponent(url)` works right
// after the import; a dynamic `import('emr-imaging')` defers all of it until needed. Every
// component on the page shares that one wasm instance. The wasm is found next to this file
// with `new URL(…, import.meta.url)`, which Vite and webpack 5 bundle as an asset unchanged.
import init from './emr_imaging.js';
import './release.js';

export * from './emr_imaging.js';

let started;

/** Resolves once the wasm is instantiated; later calls return the same Promise. */
export function ready() {
  started ??= init();
  return started.then(() => undefined);
}

await ready();
