/**
 * The S3 operations of the evidence chain and the sweep's run state.
 *
 * Loaded with `import()` where first needed. The adapters import this module rather than the
 * package: esbuild keeps the whole namespace of a package given to `import()`, every command
 * and every schema of the service; through these named re-exports it keeps only these
 * (see docs/architecture.md, "Loading the AWS SDK").
 */
export {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
