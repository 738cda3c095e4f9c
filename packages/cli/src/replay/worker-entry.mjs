// Worker threads start without the parent's TypeScript loader when the parent is a test runner,
// so the entry registers tsx itself (a second registration under the CLI's own loader is harmless).
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
