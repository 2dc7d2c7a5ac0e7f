// The hosted viewer's one script (no inline script: it runs under
// `script-src 'self' 'wasm-unsafe-eval'`). The page says which entry it is; the site's
// settings are `config.json` next to this file, and nothing in the address changes them.
import init, { startViewer } from './emr_imaging.js';

// The launch address may carry a token (`access_token=`). Until the viewer has taken it out,
// the address bar shows none of the query or fragment, so not even the wasm's own fetch
// happens while the token is there; the viewer then puts the rest of the address back.
const launchAddress = location.href;
history.replaceState(null, '', location.pathname);
await init();
const root = document.getElementById('viewer');
await startViewer(root, document.documentElement.dataset.entry ?? 'viewer', new URL('config.json', import.meta.url).href, launchAddress);
