import { describe, expect, it } from "vitest";
import { deferred, lazy } from "../src/lazy";

interface Store {
  put(id: string): Promise<string>;
  get(id: string): Promise<string | null>;
}

describe("deferred adapter", () => {
  it("makes the adapter on the first call, once, and calls its methods with their arguments", async () => {
    let made = 0;
    const store = deferred<Store>(async () => {
      made += 1;
      const items = new Set<string>();
      return {
        async put(id) {
          items.add(id);
          return id;
        },
        async get(id) {
          return items.has(id) ? id : null;
        },
      };
    });
    expect(made).toBe(0);
    await expect(Promise.all([store.put("a"), store.put("b")])).resolves.toEqual(["a", "b"]);
    await expect(store.get("a")).resolves.toBe("a");
    await expect(store.get("c")).resolves.toBeNull();
    expect(made).toBe(1);
  });

  it("tries to make the adapter again after a failed attempt", async () => {
    let attempts = 0;
    const store = deferred<Store>(async () => {
      attempts += 1;
      if (attempts === 1) throw new Error("module failed to load");
      return { put: async (id) => id, get: async () => null };
    });
    await expect(store.put("a")).rejects.toThrow("module failed to load");
    await expect(store.put("a")).resolves.toBe("a");
    expect(attempts).toBe(2);
  });

  it("is not a thenable, so awaiting it does not make the adapter", async () => {
    let made = 0;
    const store = deferred<Store>(async () => {
      made += 1;
      return { put: async (id) => id, get: async () => null };
    });
    expect(await store).toBe(store);
    expect(made).toBe(0);
  });

  it("rejects a call of a method the adapter does not have", async () => {
    const store = deferred<Store>(async () => ({ put: async (id: string) => id }) as Store);
    await expect(store.get("a")).rejects.toThrow(TypeError);
  });
});

describe("lazy", () => {
  it("lazy builds once, and again after a failure", async () => {
    let n = 0;
    const get = lazy(async () => {
      n++;
      if (n === 1) throw new Error("first fails");
      return n;
    });
    await expect(get()).rejects.toThrow("first fails");
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
  });
});
