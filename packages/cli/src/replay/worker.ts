import { parentPort, workerData } from "node:worker_threads";
import { type Job, READY, type ReplayConfig, Replayer } from "./process";

const port = parentPort;
if (port === null) throw new Error("worker.ts runs only as a worker thread");
const replayer = new Replayer(workerData as ReplayConfig);
port.on("message", (job: Job) => {
  void replayer.run(job).then((result) => {
    // The output's ArrayBuffer is its own (see OutputBuffer): moved, not copied.
    port.postMessage(result, result.output ? [result.output.buffer as ArrayBuffer] : []);
  });
});
// Loaded: the pool sends jobs from now on (until then the main thread replays them itself).
port.postMessage(READY);
