/** A progress bar for long imports, drawn on stderr only when it is a terminal. */
import cliProgress from "cli-progress";

export interface Progress {
  update(bytesRead: number, records: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function progressBar(totalBytes: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: "importing [{bar}] {percentage}% | {records} records",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(totalBytes, 1), 0, { records: 0 });
  return {
    update(bytesRead, records) {
      bar.update(Math.min(bytesRead, totalBytes), { records });
    },
    stop() {
      bar.stop();
    },
  };
}
