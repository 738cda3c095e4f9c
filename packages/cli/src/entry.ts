import { main } from "./main";

// `guardrail replay --format json | head` closes the pipe early: that is the reader's choice,
// not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await main(process.argv.slice(2));
