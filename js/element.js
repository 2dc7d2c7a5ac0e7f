// <emr-imaging fhir-base="…" patient="…" study="…" [upload] [stow-base="…"]>: the component as a
// custom element (`upload` shows the upload panel, sending to `stow-base` when given).
// wasm-bindgen cannot define a class extending HTMLElement, hence this small file. The token
// is set as a property (`el.token = …`, a string or an async provider) or sent with an
// `emr-imaging:token` event (detail: the token or provider); never as an attribute, where it
// would sit in the DOM for anyone to read. Events `emr-imaging:*` bubble out of the element.
import { EMRImagingComponent } from './index.js';

export const TAG = 'emr-imaging';

const Base = globalThis.HTMLElement ?? class {};

export class EMRImagingElement extends Base {
  static observedAttributes = ['fhir-base', 'patient', 'study', 'upload', 'stow-base'];

  #component = null;
  #token = undefined;
  #loaded = Promise.resolve();
  #onToken = (event) => { this.token = event.detail; };

  /** The underlying component while connected (null otherwise). */
  get component() { return this.#component; }

  /** Write-only: a bearer token or `() => Promise<string>`. Reading gives undefined. */
  set token(value) {
    this.#token = value;
    this.#component?.setToken(value ?? null);
  }
  get token() { return undefined; }

  connectedCallback() {
    this.addEventListener('emr-imaging:token', this.#onToken);
    this.#create();
  }

  disconnectedCallback() {
    this.removeEventListener('emr-imaging:token', this.#onToken);
    this.#destroy();
  }

  attributeChangedCallback(name, previous, value) {
    if (!this.isConnected || previous === value) return;
    if (name === 'fhir-base' || name === 'upload' || name === 'stow-base') {
      this.#destroy();
      this.#create();
    } else if (name === 'patient') {
      this.#loadPatient();
    } else if (name === 'study') {
      this.#openStudy();
    }
  }

  #create() {
    const fhirBaseUrl = this.getAttribute('fhir-base');
    if (!fhirBaseUrl || this.#component) return;
    try {
      const options = { fhirBaseUrl };
      if (this.#token !== undefined) options.token = this.#token;
      if (this.hasAttribute('upload')) {
        const stowBaseUrl = this.getAttribute('stow-base');
        options.upload = stowBaseUrl ? { stowBaseUrl } : true;
      }
      this.#component = new EMRImagingComponent(options);
    } catch (error) {
      this.dispatchEvent(new CustomEvent('emr-imaging:error', { bubbles: true, composed: true, detail: error }));
      return;
    }
    this.#component.mount(this);
    this.#loadPatient();
  }

  #destroy() {
    // destroy() also frees the wasm object, so the reference goes with it.
    this.#component?.destroy();
    this.#component = null;
  }

  // Failures are shown in the widget and sent as `emr-imaging:error`; the Promises are settled
  // here so none is left unhandled.
  #loadPatient() {
    const patient = this.getAttribute('patient');
    if (!this.#component || !patient) return;
    this.#loaded = this.#component.loadPatientImages(patient).catch(() => {});
    this.#openStudy();
  }

  #openStudy() {
    const study = this.getAttribute('study');
    const component = this.#component;
    if (!component || !study) return;
    this.#loaded.then(() => component.openStudy(study)).catch(() => {});
  }
}

if (globalThis.customElements && !customElements.get(TAG)) {
  customElements.define(TAG, EMRImagingElement);
}
