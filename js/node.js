// The package's Node entry (tests, tools): the wasm is read from disk and instantiated
// synchronously with `initSync`, since Node's fetch cannot load a file: URL.
import { readFileSync } from 'node:fs';
import { initSync } from './emr_imaging.js';
import './release.js';

export * from './emr_imaging.js';

initSync({ module: readFileSync(new URL('./emr_imaging_bg.wasm', import.meta.url)) });

/** Already resolved: the wasm was instantiated synchronously on import. */
export function ready() {
  return Promise.resolve();
}
