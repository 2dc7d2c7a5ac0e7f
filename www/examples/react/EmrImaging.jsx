// A React wrapper: the component lives as long as the element; props drive it.
import { useEffect, useRef } from 'react';
import { EMRImagingComponent } from 'emr-imaging';

export function EmrImaging({ fhirBaseUrl, patientId, getToken, onError, style }) {
  const host = useRef(null);
  const viewer = useRef(null);

  useEffect(() => {
    const component = new EMRImagingComponent({ fhirBaseUrl, token: getToken, onError });
    component.mount(host.current);
    viewer.current = component;
    return () => { component.destroy(); component.free(); viewer.current = null; };
  }, [fhirBaseUrl, getToken, onError]);

  useEffect(() => {
    if (patientId) viewer.current?.loadPatientImages(patientId).catch(() => {}); // errors reach onError
  }, [fhirBaseUrl, patientId]);

  return <div ref={host} style={{ height: 600, ...style }} />;
}

// <EmrImaging fhirBaseUrl="https://ehr.example.org/fhir" patientId={id} getToken={auth.getToken} />
