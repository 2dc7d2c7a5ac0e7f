// The package's ES entry initialises the wasm on import; Vite bundles the .wasm as an asset.
import 'emr-imaging/element';

const viewer = document.getElementById('viewer');
viewer.token = async () => (await fetch('/session/token')).text(); // your EMR's token provider
viewer.setAttribute('patient', 'patient-123');
viewer.addEventListener('emr-imaging:error', (e) => console.warn(e.detail.code, e.detail.message));
