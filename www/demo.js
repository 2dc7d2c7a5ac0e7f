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

async function selectPatient(id) {
  picker.value = id;
  status.textContent = '';
  try {
    await viewer.loadPatientImages(id);
  } catch (error) {
    if (error.code !== 'superseded') status.textContent = `${error.code}: ${error.message}`;
  }
}

try {
  const patients = await listPatients();
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
