/**
 * Several processes find the same stale repository lock (its owner died) at
 * the same moment: exactly one may take it over. Real processes, started
 * together and released from a shared start time.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratch } from "./helpers/tmp.ts";

const BUN = new URL("../node_modules/.bin/bun", import.meta.url).pathname;
const RACER = new URL("./helpers/lock_racer.ts", import.meta.url).pathname;
const CONTENDERS = 8;
const ROUNDS = 8;

function contend(dvcDir: string, startAt: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(BUN, [RACER, dvcDir, String(startAt), "500"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("error", reject);
    child.on("close", () => resolve(out.trim()));
  });
}

/** A pid that belonged to a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn("true");
    child.on("close", () => resolve(child.pid!));
  });
}

Deno.test("a stale repository lock found by several processes at once is taken over by exactly one", async () => {
  const { dir, cleanup } = await scratch("dxp-lock-race-");
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const dvcDir = join(dir, `r${round}`, ".dvc");
      mkdirSync(join(dvcDir, "tmp"), { recursive: true });
      writeFileSync(join(dvcDir, "tmp", "lock"), ` ${await deadPid()}\n`);
      const startAt = Date.now() + 1500; // after every contender has started
      const outcomes = await Promise.all(
        Array.from({ length: CONTENDERS }, () => contend(dvcDir, startAt)),
      );
      assert.deepEqual(
        outcomes.slice().sort(),
        [...Array(CONTENDERS - 1).fill("busy"), "won"],
        `round ${round}: ${outcomes.join(", ")}`,
      );
      // Released by the winner, and no takeover guard or private pid file left behind.
      assert.deepEqual(readdirSync(join(dvcDir, "tmp")), []);
      assert.equal(existsSync(join(dvcDir, "tmp", "lock")), false);
    }
  } finally {
    await cleanup();
  }
});
