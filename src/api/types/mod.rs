//! TypeScript types of the options, results, errors and events, shipped in the package's
//! `.d.ts`. Hand-written, because they carry the docs a front-end engineer reads in the editor;
//! the tests below compare them key by key with what the Rust side sends, so drift fails.

#[cfg_attr(target_arch = "wasm32", wasm_bindgen::prelude::wasm_bindgen(typescript_custom_section))]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
const TS_TYPES: &str = r#"
/** Options of `new EMRImagingComponent(options)`; a plain string is the same as `{ fhirBaseUrl }`. */
export interface EMRImagingOptions {
  /** FHIR base URL (R4), absolute or relative to the page. Its origin receives the token. */
  fhirBaseUrl: string;
  /** Use this DICOMweb base for every study instead of the FHIR Endpoints. Its origin receives the token. */
  dicomwebBaseUrl?: string;
  /** Further origins (absolute URLs) that may receive the token, and that a FHIR search's `next` links may
   * lead to; any other origin gets no token, and a `next` link there is not followed ("foreign-page" error). */
  allowedOrigins?: string[];
  /** Time limit of one request in seconds: a number for every request, or per kind (defaults: 30 for FHIR and
   * QIDO-RS, 120 for WADO-RS retrieves). A request that takes longer fails with code "timeout". */
  requestTimeoutSeconds?: number | { query?: number; retrieve?: number };
  /** A bearer token, or an async provider called for a token and again once after a 401. */
  token?: string | TokenProvider;
  /** Memory cache budget in bytes (default 256 MiB). */
  memoryCacheBytes?: number;
  /** Keep images in IndexedDB across reloads, partitioned by FHIR server and user (default true). */
  persistentCache?: boolean;
  /** IndexedDB byte budget. */
  cacheBudgetBytes?: number;
  /** IndexedDB time to live, in seconds. */
  cacheTtlSeconds?: number;
  /** The signed-in user (names the cache partition); else the token's `sub`. */
  userId?: string;
  /** A diagnostic viewer's IID address (`…/IHEInvokeImageDisplay`): the toolbar then offers
   * "Open in diagnostic viewer" (a study's own `ihe-iid` Endpoint wins). No token is put in the link. */
  externalIidViewer?: string;
  /** Show each study as only the images its DICOM Key Object Selections name (IID's
   * `keyImagesOnly=true`); a study with none says so and shows nothing. Default false. */
  keyImagesOnly?: boolean;
  /** The UI's language as a BCP 47 tag: `"en"` or `"de"` (dates and decimals follow it). Without
   * it, or for a language the widget lacks, the nearest `lang` attribute decides, else English. */
  lang?: string;
  /** Colours: "dark", "light", or CSS colours per role over the default, which follows the host's `prefers-color-scheme`. */
  theme?: "dark" | "light" | EMRImagingTheme;
  /** Called with every error the widget shows (also the `emr-imaging:error` DOM event). */
  onError?: (detail: EMRImagingError) => void;
  /** Called after an image was drawn (also `emr-imaging:image-displayed`). */
  onImageDisplayed?: (detail: ImageDisplayedDetail) => void;
  /** Called when a study is opened (also `emr-imaging:study-open`). */
  onStudyOpen?: (detail: Study) => void;
  /** Called with every access (a study list query, a series read, an export, a wrong-patient block) as a
   * FHIR R4 AuditEvent in the IHE BALP shapes (also `emr-imaging:audit`), whether or not `audit` is set. */
  onAudit?: (detail: AuditEventDetail) => void;
  /** Also deliver the AuditEvents to a FHIR server, through an IndexedDB outbox that keeps them across
   * reloads and network loss until the server confirmed each one (never stored twice). */
  audit?: EMRImagingAuditOptions;
  /** Show the upload panel (hidden by default): files, a folder, a CD (its DICOMDIR) or a camera photo are
   * checked against the patient in context (another patient's file is refused and never sent) and sent with
   * STOW-RS through an IndexedDB queue that survives reloads and network loss until the server confirmed
   * each instance. `true` sends to `dicomwebBaseUrl` or the service the patient's studies come from. */
  upload?: boolean | EMRImagingUploadOptions;
  /** Follow a FHIRcast hub from the start (also `connectFhircast()`). */
  fhircast?: FhircastOptions;
  /** New studies of the patient on screen through a FHIR topic-based Subscription (R4 Backport, WebSocket
   * channel): `topic` is the site's SubscriptionTopic canonical for ImagingStudy changes (a Subscription is
   * created per patient and deleted on a switch and on destroy()), or `subscriptionId` one the host made.
   * The list is read again and "New study available" shown; the viewport is never taken. */
  subscriptions?: { topic?: string; subscriptionId?: string };
  /** Without server support: read the list again every N seconds (off by default). */
  studyPollSeconds?: number;
}

/** The upload panel. */
export interface EMRImagingUploadOptions {
  /** The STOW-RS service (its origin receives the token); default: as for `upload: true`. */
  stowBaseUrl?: string;
  /** After a study's files are stored, write its ImagingStudy (with an Endpoint) to the FHIR server. Default false. */
  createImagingStudy?: boolean;
}

/** Detail of `emr-imaging:upload`: one file's outcome. */
export interface UploadDetail {
  /** The file's name, or its path in the folder given. */
  name: string;
  sopInstanceUid: string | null;
  studyUid: string | null;
  /** "refused": never sent (`reason` says why); the others are the server's answer. */
  outcome: "stored" | "warning" | "already-present" | "failed" | "refused";
  /** The server's WarningReason or FailureReason (0xB000, 0xC000, …). */
  code: number | null;
  reason: string | null;
}

/** Where AuditEvents are delivered. */
export interface EMRImagingAuditOptions {
  enabled: boolean;
  /** The FHIR base to post batch Bundles to (default: `fhirBaseUrl`). Its origin gets the token only if allowed. */
  fhirBaseUrl?: string;
}

/** A FHIR R4 AuditEvent resource (IHE BALP PatientQuery, PatientRead, PatientCreate, or DICOM Export). */
export interface AuditEventDetail {
  resourceType: "AuditEvent";
  type: { system: string; code: string; display: string };
  action: "C" | "R" | "E";
  recorded: string;
  /** "0" success, "4" when the image was withheld (`outcomeDesc` says why, naming no patient). */
  outcome: "0" | "4";
  [element: string]: unknown;
}

/** A FHIRcast STU3 hub to follow. The token goes to the hub only if its origin is the FHIR base's or in
 * `allowedOrigins`. */
export interface FhircastOptions {
  /** `hub.url`, absolute or relative to the page. */
  hubUrl: string;
  /** `hub.topic`: the session to follow. */
  topic: string;
  /** Events to subscribe to (default: Patient, ImagingStudy and DiagnosticReport open/close, UserLogout,
   * UserHibernate, SyncError). */
  events?: string[];
  /** Send ImagingStudy-open/-close when the user opens or leaves a study here (default false). */
  publish?: boolean;
  /** `subscriber.name`, named in the hub's SyncErrors (default "emr-imaging"). */
  subscriberName?: string;
}

/** Detail of `emr-imaging:context`: a FHIRcast event and how it was followed (200 followed, 409 refused, 400 malformed). */
export interface ContextDetail { event: string; id: string; context: unknown[]; status: number; }

/** `smartLaunch(config)`: the site's SMART client registration (as `config.json` `smart` of the hosted viewer),
 * and the launch. Tokens stay in memory; only `state` and the PKCE verifier go to sessionStorage, until used. */
export interface SmartLaunchConfig {
  clientId: string;
  /** FHIR bases that may launch this page. Required unless `iss` is given, which then allows just itself. */
  allowedIssuers?: string[];
  /** The scopes asked for (default: `launch openid fhirUser online_access patient/ImagingStudy.rs patient/Endpoint.rs
   * patient/Patient.rs patient/DiagnosticReport.rs`; `launch/patient` in place of `launch` for a standalone launch). */
  scope?: string;
  /** Registered with the client exactly; default: this page without its query. */
  redirectUri?: string;
  /** Only for a confidential client (a static page cannot keep a secret from its users). */
  clientSecret?: string;
  tokenEndpointAuthMethod?: "client_secret_basic" | "client_secret_post";
  /** The FHIR server to launch from; default: the page's `iss` parameter (an EHR launch). */
  iss?: string;
  /** The EHR's `launch`; default: the page's `launch` parameter. Without one, a standalone launch. */
  launch?: string;
}

/** `EMRImagingComponent.fromSmartLaunch(options)`: the component's options, with the SMART settings given to
 * `smartLaunch`; `fhirBaseUrl` comes from the launch (the issuer, or its imaging endpoint). */
export interface SmartLaunchOptions extends Omit<EMRImagingOptions, "fhirBaseUrl"> {
  smart: Omit<SmartLaunchConfig, "iss" | "launch">;
}

/** `component.launchContext`: what the SMART token response named. */
export interface LaunchContext {
  /** The FHIR id of the launch patient. */
  patient: string | null;
  encounter: string | null;
  /** The ImagingStudy `fhirContext` names, by DICOM UID or by FHIR id. */
  study: { studyUid: string } | { fhirId: string } | null;
  /** false when the EHR shows its own patient banner. */
  needPatientBanner: boolean;
  /** The FHIRcast session of the launch (followed by the component). */
  fhircast: { hubUrl: string; topic: string } | null;
  /** Who signed in: the verified id_token's `fhirUser`, else its `sub`; null without an id_token. */
  user: string | null;
}

/** Returns a fresh bearer token (e.g. after a SMART refresh), at once or as a Promise. */
export type TokenProvider = () => string | Promise<string>;

/** CSS colours of the widget's roles. */
export interface EMRImagingTheme { bg?: string; fg?: string; accent?: string; muted?: string; alert?: string; }

/** A study as FHIR and DICOMweb describe it; `resource` is the FHIR ImagingStudy as received. */
export interface Study {
  studyUid: string;
  fhirId: string;
  accession: string | null;
  /** FHIR `started` (ISO 8601). */
  started: string | null;
  description: string | null;
  modalities: string[];
  status: string | null;
  numberOfSeries: number | null;
  numberOfInstances: number | null;
  /** Series in the FHIR resource order, enriched from QIDO-RS. */
  series: Series[];
  /** The DICOMweb service the images come from, or null without an Endpoint. */
  dicomwebBase: string | null;
  /** A diagnostic viewer's IID address from the study's own `ihe-iid` Endpoint, or null. */
  iidViewer: string | null;
  source: StudySource;
  /** The FHIR ImagingStudy resource as the server sent it. */
  resource: Record<string, unknown>;
}

/** A series of a study. */
export interface Series {
  uid: string;
  number: number | null;
  modality: string | null;
  description: string | null;
  numberOfInstances: number | null;
  /** Known instances (may be empty until the series is opened). */
  instances: Instance[];
  /** The FHIR `series.bodySite` code (e.g. SNOMED CT `51185008`), when the ImagingStudy names one. */
  bodySite?: string;
  /** A series-level Endpoint's DICOMweb base, when it differs from the study's. */
  dicomwebBase?: string;
}

/** An instance (image) of a series. */
export interface Instance { uid: string; number: number | null; sopClass: string | null; }

/** Where a study's details come from. */
export type StudySource =
  | { kind: "fhirOnly" }
  | { kind: "enriched" }
  | { kind: "noEndpoint" }
  /** Only the PACS's QIDO-RS answer (a study just uploaded): `fhirId` is empty and `resource` an ImagingStudy drafted from it, stored nowhere. */
  | { kind: "pacsOnly" }
  | { kind: "pacsUnreachable"; message: string }
  /** The Endpoint's address is never fetched (not http(s), or with a user name or password). */
  | { kind: "invalidEndpoint"; message: string };

/** Stable codes of `EMRImagingError.code`. */
export type EMRImagingErrorCode =
  | "network" | "unauthorized" | "session-expired" | "not-found" | "server" | "timeout" | "too-large" | "invalid-url"
  | "invalid-options" | "fhir" | "dicomweb" | "no-endpoint" | "no-images" | "invalid-dicom"
  | "unsupported-image" | "patient-mismatch" | "superseded" | "foreign-page"
  | "iid-invalid-request" | "invalid-config" | "context-sync" | "smart-launch" | "internal";

/** What a rejected Promise and the `error` event carry. */
export interface EMRImagingError extends Error {
  /** What went wrong, stable across releases. */
  code: EMRImagingErrorCode;
  message: string;
  /** HTTP status when a server answered with an error, else null. */
  status: number | null;
}

/** Detail of `emr-imaging:series-loaded`: every instance of a series is in (the open series decoded, another fetched ahead into the cache). */
export interface SeriesLoadedDetail {
  studyUid: string;
  seriesUid: string;
  /** Instances loaded. */
  instances: number;
  /** Part 10 bytes of those instances, from the network or the cache. */
  bytes: number;
  /** Milliseconds from the series' first request to its last instance. */
  ms: number;
}

/** Detail of `emr-imaging:image-displayed`. */
export interface ImageDisplayedDetail { studyUid: string; seriesUid: string; instanceUid: string; lossy: boolean; }

/**
 * The request of `buildIidUrl(base, request)`: IHE Invoke Image Display (RAD-106) parameters
 * under their IID names (case-sensitive). A STUDY request takes `studyUID` or `accessionNumber`;
 * a PATIENT request takes `patientID` and the optional patient fields. Tokens have no field.
 */
export interface IidUrlRequest {
  requestType: "STUDY" | "PATIENT";
  /** Study Instance UIDs. */
  studyUID?: string[];
  /** Accession numbers (DICOM SH: at most 16 characters). */
  accessionNumber?: string[];
  /** HL7 v2 CX as HL7 writes it, e.g. `12345^^^Hospital` or `12345^^^&1.2.3.4&ISO` (delimiters in the ID as `\S\`, `\T\`). */
  patientID?: string;
  /** DICOM PN, e.g. `Doe^Jane`. */
  patientName?: string;
  /** XML Schema date or dateTime. */
  patientBirthDate?: string;
  /** Earliest study date: XML Schema date or dateTime, e.g. `2010-01-01T12:00:00Z`. */
  lowerDateTime?: string;
  /** Latest study date, as `lowerDateTime`. */
  upperDateTime?: string;
  /** Only the N most recent studies (N ≥ 1). */
  mostRecentResults?: number;
  /** DICOM modality codes, e.g. `["MR", "XA"]`. */
  modalitiesInStudy?: string[];
  /** `IHE_BIR`: ask for an IHE Basic Image Review display. */
  viewerType?: "IHE_BIR";
  diagnosticQuality?: boolean;
  keyImagesOnly?: boolean;
}

/** A measurement or annotation, as `getMeasurements()` returns it. Points are in the image's
 * pixel coordinates (x along a row, y down the rows; pixel (c, r) spans [c, c+1) × [r, r+1)),
 * results in the patient's millimetres unless `values.caveat` says otherwise. */
export interface Measurement {
  id: number;
  kind: "length" | "angle" | "ellipse" | "rectangle" | "arrow" | "text";
  studyUid: string;
  seriesUid: string;
  instanceUid: string;
  /** The frame of a multi-frame instance (0 otherwise). */
  frame: number;
  points: { x: number; y: number }[];
  /** A text label's words, as typed. */
  text?: string;
  values: MeasuredValues;
  /** As shown beside it, e.g. `100.0 mm`, or a text label's words. */
  label: string;
}

/** What a measurement measures on its frame. */
export interface MeasuredValues {
  length?: number;
  angleDegrees?: number;
  area?: number;
  /** Of the modality values (e.g. HU) of the pixels whose centres lie inside a region. */
  stats?: RegionStats;
  unit: "mm" | "px" | "mm²" | "px²" | null;
  /** The modality values' unit, e.g. `HU`. */
  valueUnit: string | null;
  calibration:
    | { kind: "patient"; rowMm: number; columnMm: number }
    | { kind: "detector"; rowMm: number; columnMm: number; magnification: number | null }
    | { kind: "uncalibrated" };
  /** `uncalibrated` (pixels), or `detector` (spacing at the detector, not corrected for magnification). */
  caveat: "uncalibrated" | "detector" | null;
}

export interface RegionStats {
  /** mm² (or px² uncalibrated). */
  area: number;
  pixels: number;
  mean: number | null;
  /** Population standard deviation. */
  sd: number | null;
  min: number | null;
  max: number | null;
}

/** Event names accepted by `on()` and their details. */
export interface EMRImagingEventMap {
  "image-displayed": ImageDisplayedDetail;
  "error": EMRImagingError;
  "study-open": Study;
  "audit": AuditEventDetail;
  "context": ContextDetail;
  "upload": UploadDetail;
  "series-loaded": SeriesLoadedDetail;
}
"#;

// Natively only: on wasm32 the attribute above consumes the constant.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
