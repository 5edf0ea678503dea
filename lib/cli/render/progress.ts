import process from "node:process";
import cliProgress from "cli-progress";
import type { DataProgress } from "../../engine/data/progress.ts";
import type { ArchiveProgress } from "../../engine/exp/export.ts";
import type { CliContext } from "../context.ts";

type Progress = DataProgress | ArchiveProgress;

const LABELS: Record<Progress["phase"], string> = {
  collecting: "Collecting",
  checking: "Checking remote",
  uploading: "Pushing",
  downloading: "Fetching",
  exporting: "Exporting",
  importing: "Importing",
};

/** Phases that end with their final figures on a pipe. */
const MOVING = new Set<Progress["phase"]>(["uploading", "downloading", "exporting", "importing"]);

/** A progress display for the data half, and a function to end it. */
export interface ProgressDisplay {
  update(progress: Progress): void;
  stop(): void;
}

/**
 * A redrawn bar on a terminal; on a pipe (CI logs) plain lines, never
 * carriage returns: nothing for a phase that ends within `quietMs` (small
 * pushes stay silent, as DVC's are), then one line every `intervalMs`.
 * Nothing at all when quiet or disabled.
 */
export function progressDisplay(
  ctx: CliContext,
  enabled: boolean,
  intervalMs = 5000,
  quietMs = 2000,
): ProgressDisplay {
  if (!enabled || ctx.quiet) return { update: () => {}, stop: () => {} };
  if (ctx.stderrIsTty) return barDisplay();
  let lastPhase: string | undefined;
  let phaseStart = 0;
  let lastAt = 0;
  let printed = false;
  let last: Progress | undefined;
  const line = (p: Progress) =>
    ctx.err(
      `${LABELS[p.phase]}: ${p.doneObjects}/${p.totalObjects} objects` +
        (p.totalBytes > 0 ? `, ${mib(p.doneBytes)}/${mib(p.totalBytes)} MiB\n` : "\n"),
    );
  return {
    update(p) {
      last = p;
      const now = Date.now();
      if (p.phase !== lastPhase) {
        lastPhase = p.phase;
        phaseStart = now;
        lastAt = now;
        return;
      }
      if (now - phaseStart >= quietMs && now - lastAt >= (printed ? intervalMs : quietMs)) {
        lastAt = now;
        printed = true;
        line(p);
      }
    },
    stop() {
      // Close a long transfer with its final figures.
      if (printed && last && MOVING.has(last.phase)) {
        line(last);
      }
    },
  };
}

function barDisplay(): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    {
      format: "{phase} |{bar}| {value}/{total} objects {mib}",
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const payload = {
        phase: LABELS[p.phase],
        mib: p.totalBytes > 0 ? `${mib(p.doneBytes)}/${mib(p.totalBytes)} MiB` : "",
      };
      if (!started) {
        bar.start(Math.max(p.totalObjects, 1), p.doneObjects, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(p.totalObjects, 1));
        bar.update(p.doneObjects, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
