/**
 * A value made on first use and then kept. A failed attempt is forgotten so that the next call
 * tries again. The SNS and DynamoDB clients are built this way: they are not on the path to the
 * revoke, so their modules need not load during a cold start before it.
 */
export function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
