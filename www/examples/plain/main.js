import { EMRImagingComponent } from '/pkg/index.js';

let viewer;
document.getElementById('pick').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!viewer) {
    viewer = new EMRImagingComponent('/fhir');
    viewer.mount(document.getElementById('imaging'));
    // viewer.setToken(() => myEmr.getAccessToken());  // your EMR's token; never in a URL
  }
  const patient = new FormData(event.target).get('patient');
  await viewer.loadPatientImages(patient);
  const [study] = await viewer.fetchStudies(patient);
  const series = study?.series[0];
  const instance = series?.instances[0];
  if (instance) {
    document.getElementById('first').src = await viewer.loadImage(study.studyUid, series.uid, instance.uid);
  }
});
