export { createGcsStore, GcsStore, openGcsStore } from "./gcs_store.ts";
export { DEFAULT_GCS_TUNING, type GcsTuning } from "./gcs_upload.ts";
export { parseGcsRemote } from "./options.ts";
