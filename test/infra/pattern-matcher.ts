// The matcher moved to the sandbox, whose local EventBridge router routes with it; this path
// stays for the tests that still import it from here.
export * from "@guardrail/sandbox/pattern-matcher";
