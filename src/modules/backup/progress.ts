/** Progress of long work on stderr: rewritten in place on a terminal, a line per step otherwise. */
export interface Progress {
  step(message: string): void;
  /** a counter that advances (objects copied…); prints at most every 200 ms */
  tick(label: string, done: number, total: number): void;
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream | null = process.stderr): Progress {
  if (!stream) return { step() {}, tick() {}, done() {} };
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let open = false;
  return {
    step(message) {
      if (open && tty) stream.write('\n');
      open = false;
      stream.write(`${message}\n`);
    },
    tick(label, done, total) {
      const now = Date.now();
      if (done < total && now - last < 200) return;
      last = now;
      const pct = total ? Math.floor((100 * done) / total) : 100;
      if (tty) {
        const width = 24;
        const filled = Math.round((width * pct) / 100);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${pct}%`);
        open = done < total;
        if (done >= total) stream.write('\n');
      } else if (done >= total || pct % 10 === 0) {
        stream.write(`${label} ${done}/${total} (${pct}%)\n`);
      }
    },
    done() {
      if (open && tty) stream.write('\n');
      open = false;
    },
  };
}
