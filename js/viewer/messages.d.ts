// The hosted viewer's postMessage protocol (`emr-imaging/viewer/messages`). Messages are plain
// objects with a `type`; the viewer accepts them only from its `parentOrigins` and the window
// that embeds it, and posts only to that window's origin.
import type { EMRImagingError, ImageDisplayedDetail, Study } from '../index.js';

/** Host → viewer: a bearer token, at any time (also the answer to `emr-imaging:token-request`). */
export interface TokenMessage { type: 'emr-imaging:token'; token: string; }
/** Host → viewer: open a patient (FHIR id), a study of theirs, or a study alone. A patient switch clears at once. */
export interface OpenMessage { type: 'emr-imaging:open'; patient?: string; studyUid?: string; accessionNumber?: string; }
/** Host → viewer: forget the patient. */
export interface CloseMessage { type: 'emr-imaging:close'; }
export type HostToViewerMessage = TokenMessage | OpenMessage | CloseMessage;

/** Viewer → host, once at start, to each configured parent origin. */
export interface ReadyMessage { type: 'emr-imaging:ready'; }
export interface StudyOpenMessage { type: 'emr-imaging:study-open'; detail: Study; }
export interface ImageDisplayedMessage { type: 'emr-imaging:image-displayed'; detail: ImageDisplayedDetail; }
/** IID requests that are malformed or cannot be served have code `iid-invalid-request`. */
export interface ErrorMessage { type: 'emr-imaging:error'; detail: Pick<EMRImagingError, 'code' | 'message' | 'status'>; }
/** A server refused the token: answer with `emr-imaging:token` (the viewer waits 20 s). */
export interface TokenRequestMessage { type: 'emr-imaging:token-request'; }
export type ViewerToHostMessage = ReadyMessage | StudyOpenMessage | ImageDisplayedMessage | ErrorMessage | TokenRequestMessage;
