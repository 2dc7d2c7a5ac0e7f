// The mock EMR page: a patient picker and the emr-imaging widget.
// The EMR owns patient context; the widget only ever shows the patient it is given.
import init, { EMRImagingComponent } from '/pkg/emr_imaging.js';

const picker = document.getElementById('patient-picker');
const status = document.getElementById('demo-status');

await init();
// `?nocache` keeps images in memory only (the viewer benchmark compares both).
const params = new URLSearchParams(location.search);
const viewer = new EMRImagingComponent({ fhirBaseUrl: '/fhir', persistentCache: !params.has('nocache') });
viewer.mount(document.getElementById('imaging'));

async function listPatients() {
  const response = await fetch('/fhir/Patient?_count=100', { headers: { Accept: 'application/fhir+json' } });
  if (!response.ok) throw new Error(`patient list: HTTP ${response.status}`);
  const bundle = await response.json();
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((p) => p?.resourceType === 'Patient')
    .sort((a, b) => a.id.localeCompare(b.id));
}

function label(patient) {
  const name = patient.name?.[0];
  const text = [name?.family?.toUpperCase(), (name?.given ?? []).join(' ')].filter(Boolean).join(', ');
  const mrn = patient.identifier?.[0]?.value ?? '';
  return `${text || patient.id} (${mrn})`;
}

// The second tab: the hosted viewer (`pkg/viewer/`, served by `cargo xtask demo` on this
// port + 100, another origin) in an iframe, launched by an IID PATIENT URL and then steered
// with `emr-imaging:open`; its token comes by postMessage, never in the URL.
const hosted = document.getElementById('hosted');
const viewerOrigin = `${location.protocol}//${location.hostname === 'localhost' ? 'localhost' : '127.0.0.1'}:${Number(location.port || 80) + 100}`;
let patientsById = new Map();
window.addEventListener('message', (e) => {
  if (e.origin !== viewerOrigin || e.source !== hosted.contentWindow) return;
  const { type, detail } = e.data ?? {};
  if (type === 'emr-imaging:ready' || type === 'emr-imaging:token-request') {
    e.source.postMessage({ type: 'emr-imaging:token', token: 'demo-token' }, viewerOrigin);
  } else if (type === 'emr-imaging:error' && detail?.code !== 'superseded') {
    status.textContent = `${detail.code}: ${detail.message}`;
  }
});

function showHosted(id) {
  const patient = patientsById.get(id);
  if (!hosted.src) {
    const cx = encodeURIComponent(`${patient?.identifier?.[0]?.value ?? ''}^^^DEMO`);
    hosted.src = `${viewerOrigin}/viewer/IHEInvokeImageDisplay?requestType=PATIENT&patientID=${cx}`;
  } else {
    hosted.contentWindow.postMessage({ type: 'emr-imaging:open', patient: id }, viewerOrigin);
  }
}

function selectTab(which) {
  const hostedTab = which === 'hosted';
  document.getElementById('tab-widget').setAttribute('aria-selected', String(!hostedTab));
  document.getElementById('tab-hosted').setAttribute('aria-selected', String(hostedTab));
  document.getElementById('imaging').hidden = hostedTab;
  hosted.hidden = !hostedTab;
  if (hostedTab && picker.value) showHosted(picker.value);
}
document.getElementById('tab-widget').addEventListener('click', () => selectTab('widget'));
document.getElementById('tab-hosted').addEventListener('click', () => selectTab('hosted'));

async function selectPatient(id) {
  picker.value = id;
  status.textContent = '';
  if (!hosted.hidden) showHosted(id);
  try {
    await viewer.loadPatientImages(id);
  } catch (error) {
    if (error.code !== 'superseded') status.textContent = `${error.code}: ${error.message}`;
  }
}

try {
  const patients = await listPatients();
  patientsById = new Map(patients.map((p) => [p.id, p]));
  picker.replaceChildren(...patients.map((p) => new Option(label(p), p.id)));
  picker.disabled = false;
  picker.addEventListener('change', () => selectPatient(picker.value));
  // For tests and the console: the page's handles, never any credential.
  window.emrDemo = { viewer, selectPatient, ready: true };
  // `?manual` leaves the choice to the user (tests use it); otherwise open the first patient.
  const manual = params.has('manual');
  if (patients.length && !manual) await selectPatient(patients[0].id);
} catch (error) {
  status.textContent = String(error.message ?? error);
  window.emrDemo = { viewer, selectPatient, ready: true, error: String(error) };
}
