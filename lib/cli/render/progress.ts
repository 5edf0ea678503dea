import process from "node:process";
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
export async function progressDisplay(
  ctx: CliContext,
  enabled: boolean,
  intervalMs = 5000,
  quietMs = 2000,
): Promise<ProgressDisplay> {
  if (!enabled || ctx.quiet) return { update: () => {}, stop: () => {} };
  if (ctx.stderrIsTty) return await barDisplay();
  let lastPhase: string | undefined;
  let phaseStart = 0;
  let lastAt = 0;
  let printed = false;
  let last: Progress | undefined;
  const speed = new Speed();
  const line = (p: Progress, final = false) =>
    ctx.err(
      `${LABELS[p.phase]}: ${p.doneObjects}/${p.totalObjects} objects` +
        (p.totalBytes > 0 ? `, ${mib(p.doneBytes)}/${mib(p.totalBytes)} MiB` : "") +
        (MOVING.has(p.phase) ? speed.text(p, final, ", ") : "") + "\n",
    );
  return {
    update(p) {
      last = p;
      const now = Date.now();
      speed.sample(p, now);
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
        line(last, true);
      }
    },
  };
}

async function barDisplay(): Promise<ProgressDisplay> {
  // Loaded for a terminal only: with node:readline under it, it cost every command's start-up.
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      format: "{phase} |{bar}| {value}/{total} objects {mib}{speed}",
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const speed = new Speed();
  return {
    update(p) {
      speed.sample(p, Date.now());
      const payload = {
        phase: LABELS[p.phase],
        mib: p.totalBytes > 0 ? `${mib(p.doneBytes)}/${mib(p.totalBytes)} MiB` : "",
        speed: MOVING.has(p.phase) ? speed.text(p, false, " ") : "",
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

/** How far back the rate looks: recent enough to follow changes, long enough to be steady. */
const WINDOW_MS = 10_000;

/**
 * Transfer rate and time left of a phase, like rclone's and DVC's: bytes
 * and objects per second over the last few seconds, and the time the
 * objects (or bytes, whichever says longer) still left take at that rate.
 */
class Speed {
  #phase: string | undefined;
  #start = 0;
  #samples: { at: number; objects: number; bytes: number }[] = [];

  sample(p: Progress, now: number): void {
    if (p.phase !== this.#phase) {
      this.#phase = p.phase;
      this.#start = now;
      this.#samples = [];
    }
    const lastAt = this.#samples.at(-1)?.at ?? -Infinity;
    if (now - lastAt >= 250 || this.#samples.length < 2) {
      this.#samples.push({ at: now, objects: p.doneObjects, bytes: p.doneBytes });
    } else {
      this.#samples[this.#samples.length - 1] = {
        at: now,
        objects: p.doneObjects,
        bytes: p.doneBytes,
      };
    }
    while (this.#samples.length > 2 && now - this.#samples[1]!.at > WINDOW_MS) {
      this.#samples.shift();
    }
  }

  /**
   * `<sep>2.1 MiB/s, 1500 objects/s, ETA 0:03` (no ETA once done; `final`:
   * the average of the whole phase); "" before anything moved.
   */
  text(p: Progress, final: boolean, sep: string): string {
    const first = final ? { at: this.#start, objects: 0, bytes: 0 } : this.#samples[0];
    const last = this.#samples.at(-1);
    if (first === undefined || last === undefined || last.at <= first.at) return "";
    const seconds = (last.at - first.at) / 1000;
    const bytesRate = Math.max(0, last.bytes - first.bytes) / seconds;
    const objectsRate = Math.max(0, last.objects - first.objects) / seconds;
    let out = `${sep}${mib(bytesRate)} MiB/s, ${Math.round(objectsRate)} objects/s`;
    if (final || p.doneObjects >= p.totalObjects) return out;
    const left = secondsLeft(p, { bytesRate, objectsRate, objects: last.objects - first.objects });
    if (left !== undefined) out += `, ETA ${duration(left)}`;
    return out;
  }
}

/** Objects done in the window below which their rate says little of the time left. */
const STEADY_OBJECTS = 20;

/**
 * Seconds left at the recent rates: the longer of what the bytes and the
 * objects still to move take (sizes learnt on the way make the bytes alone
 * too hopeful). When only a few objects ended in the window — a handful of
 * large files — their rate is a step function (one file done in 1.5 s of a
 * 2 s push says 6 s left for the other four), so the bytes alone decide.
 * Undefined when neither rate is known yet.
 */
export function secondsLeft(
  p: Pick<Progress, "doneObjects" | "totalObjects" | "doneBytes" | "totalBytes">,
  recent: { bytesRate: number; objectsRate: number; objects: number },
): number | undefined {
  const byBytes = recent.bytesRate > 0 && p.totalBytes > p.doneBytes
    ? (p.totalBytes - p.doneBytes) / recent.bytesRate
    : undefined;
  const byObjects = recent.objectsRate > 0
    ? (p.totalObjects - p.doneObjects) / recent.objectsRate
    : undefined;
  if (byBytes === undefined) return byObjects;
  if (byObjects === undefined || recent.objects < STEADY_OBJECTS) return byBytes;
  return Math.max(byBytes, byObjects);
}

/** `0:07`, `12:30`, `1:02:03`. */
function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}
