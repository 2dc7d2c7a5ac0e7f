import type { AuditEventDetail, ContextDetail, EMRImagingComponent, EMRImagingError, ImageDisplayedDetail, SeriesLoadedDetail, Study, TokenProvider, UploadDetail } from './index.js';

/** The tag name, `emr-imaging`. */
export declare const TAG: 'emr-imaging';

/**
 * `<emr-imaging fhir-base="…" patient="…" study="…" [upload] [stow-base="…"]>` (`upload`: the upload panel). Attributes are reactive; connecting
 * mounts the component, disconnecting destroys it.
 */
export declare class EMRImagingElement extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The component while connected, else null. */
  readonly component: EMRImagingComponent | null;
  /** Write-only bearer token or provider (never an attribute); reads give undefined. */
  set token(value: string | TokenProvider | null | undefined);
  get token(): undefined;
}

declare global {
  interface HTMLElementTagNameMap {
    'emr-imaging': EMRImagingElement;
  }
  interface HTMLElementEventMap {
    'emr-imaging:image-displayed': CustomEvent<ImageDisplayedDetail>;
    'emr-imaging:error': CustomEvent<EMRImagingError>;
    'emr-imaging:study-open': CustomEvent<Study>;
    'emr-imaging:audit': CustomEvent<AuditEventDetail>;
    'emr-imaging:context': CustomEvent<ContextDetail>;
    'emr-imaging:upload': CustomEvent<UploadDetail>;
    'emr-imaging:series-loaded': CustomEvent<SeriesLoadedDetail>;
    /** Sent to the element by the host to set the token. */
    'emr-imaging:token': CustomEvent<string | TokenProvider>;
  }
}
