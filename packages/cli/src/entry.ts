import { enableCompileCache } from "./compile-cache";
import { isReplay, prestartReplayWorker } from "./replay/prestart";

// `guardrail replay --format json | head` closes the pipe early: that is the reader's choice,
// not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

// Before anything else loads: the commands and replay's worker then load from the code cache.
enableCompileCache();

const argv = process.argv.slice(2);
// Replay is run on whole archives, often from scripts: it starts without the other commands, and
// its first worker thread loads while the CLI does.
prestartReplayWorker(argv);
const { main } = isReplay(argv) ? await import("./replay-main") : await import("./main");
process.exitCode = await main(argv);
