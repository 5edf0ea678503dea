export { createS3Store, openS3Store, S3Store } from "./s3_store.ts";
export { DEFAULT_TUNING, type S3Tuning } from "./s3_client.ts";
