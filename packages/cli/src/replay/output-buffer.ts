/**
 * Rendered output of one job, encoded as UTF-8 straight into one growing Buffer: no array of
 * line strings to join, no second copy to encode, and the result can be transferred to the main
 * thread as is.
 */
export class OutputBuffer {
  private buf: Buffer;
  private length = 0;

  constructor(initial = 64 * 1024) {
    // allocUnsafeSlow: a buffer of its own, never a slice of Node's shared pool, so that its
    // ArrayBuffer can be transferred.
    this.buf = Buffer.allocUnsafeSlow(initial);
  }

  append(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const max = text.length * 3;
    if (this.length + max > this.buf.length) {
      const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.length + max));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    this.length += this.buf.write(text, this.length, "utf8");
  }

  get size(): number {
    return this.length;
  }

  /** The bytes written, or null when none were. The buffer must not be appended to after. */
  take(): Uint8Array | null {
    return this.length === 0 ? null : new Uint8Array(this.buf.buffer, 0, this.length);
  }
}
