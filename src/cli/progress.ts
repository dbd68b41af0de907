// Progress for long work: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
export interface Progress {
  update(done: number, total: number, detail?: string): void;
  done(message?: string): void;
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const start = performance.now();
  let lastLine = 0;
  return {
    update(done, total, detail = '') {
      const elapsed = (performance.now() - start) / 1000;
      const rate = done > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? (total - done) / rate : 0;
      const text = `${label} ${done}/${total} ${rate.toFixed(2)}/s eta ${eta.toFixed(0)}s ${detail}`.trimEnd();
      if (tty) {
        const width = 24;
        const filled = Math.round((width * done) / Math.max(total, 1));
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      } else if (done === total || performance.now() - lastLine > 2000) {
        lastLine = performance.now();
        stream.write(`${text}\n`);
      }
    },
    done(message) {
      if (tty) stream.write('\r\x1b[K');
      if (message) stream.write(`${message}\n`);
    },
  };
}
