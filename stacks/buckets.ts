/**
 * A bucket that is never public (every public-access block on) and encrypts objects with
 * S3-managed keys by default. Its companions' ids start with `id`.
 */
export function privateBucket(id: string, args: aws.s3.BucketArgs): aws.s3.Bucket {
  const bucket = new aws.s3.Bucket(id, args);
  new aws.s3.BucketPublicAccessBlock(`${id}PublicAccess`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new aws.s3.BucketServerSideEncryptionConfiguration(`${id}Encryption`, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
  });
  return bucket;
}
