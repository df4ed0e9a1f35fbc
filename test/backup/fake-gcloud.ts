/**
 * The names test/migration imports the bucket stand-in by (from before the steps talked to GCS's JSON
 * API instead of running gcloud): it needs only the restore side, which memberRestoreSteps runs inside
 * the GCS stand-in. New code imports fake-gcs.ts; this module goes once test/migration does too.
 */
export { installGcsStandIn as installFakeGcloud, objectPath } from "./fake-gcs";
