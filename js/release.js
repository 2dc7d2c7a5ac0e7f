// destroy() frees the component's wasm object. Code written for earlier versions calls free()
// after it, and a framework may unmount twice: calling either again stays harmless instead of
// throwing wasm-bindgen's "null pointer passed to rust". (`__wbg_ptr` is 0 once freed; the
// wasm-bindgen version is pinned, and the end-to-end tests call both twice.)
import { EMRImagingComponent } from './emr_imaging.js';

for (const name of ['destroy', 'free']) {
  const release = EMRImagingComponent.prototype[name];
  EMRImagingComponent.prototype[name] = function () {
    if (this.__wbg_ptr) release.call(this);
  };
}
