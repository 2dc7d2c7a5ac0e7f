export * from './emr_imaging.js';

/** Resolves once the shared wasm instance is ready (it already is once the import resolved). */
export function ready(): Promise<void>;
