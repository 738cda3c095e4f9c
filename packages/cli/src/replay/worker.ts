import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { type Job, READY, type ReplayConfig, Replayer } from "./process";

const port = parentPort;
if (port === null) throw new Error("worker.ts runs only as a worker thread");

function serve(config: ReplayConfig, port: MessagePort) {
  const replayer = new Replayer(config);
  port.on("message", (job: Job) => {
    void replayer.run(job).then((result) => {
      // The output's ArrayBuffer is its own (see OutputBuffer): moved, not copied.
      port.postMessage(result, result.output ? [result.output.buffer as ArrayBuffer] : []);
    });
  });
  // Loaded: the pool sends jobs from now on (until then the main thread replays them itself).
  port.postMessage(READY);
}

// A worker started before the CLI loaded (see prestart.ts) gets its configuration as its first
// message.
if (workerData) serve(workerData as ReplayConfig, port);
else port.once("message", (config: ReplayConfig) => serve(config, port));
