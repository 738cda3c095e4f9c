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

/**
 * An adapter whose module loads on first use: the object returned stands for the one `make`
 * resolves to, and each method call waits for it (made once, as `lazy` does) and then calls
 * it. Only for interfaces whose members are all methods returning promises (the audit store,
 * the Security Hub export): a cold start then neither parses nor runs the adapter's code (nor
 * the report code it needs) before the revoke.
 */
export function deferred<T extends object>(make: () => Promise<T>): T {
  const target = lazy(make);
  return new Proxy({} as T, {
    get(_, name) {
      // Not a thenable: `await` on the adapter itself must not call `then` on it.
      if (typeof name === "symbol" || name === "then") return undefined;
      return async (...args: unknown[]) => {
        const adapter = (await target()) as Record<string, (...a: unknown[]) => unknown>;
        const method = adapter[name];
        if (typeof method !== "function") throw new TypeError(`adapter has no method ${name}`);
        return method.apply(adapter, args);
      };
    },
  });
}
