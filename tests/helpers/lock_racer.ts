/**
 * One contender for the repository lock: waits for a shared start time (so
 * several contenders try within the same millisecond), tries once without
 * waiting, prints "won" or "busy", and holds a won lock for `holdMs` so the
 * others' attempts overlap with it.
 *
 *   bun lock_racer.ts <dvcDir> <startAtEpochMs> <holdMs>
 */
import process from "node:process";
import { acquireRepoLock } from "../../lib/project/repo_lock.ts";

const [dvcDir, startAt, holdMs] = process.argv.slice(2);
while (Date.now() < Number(startAt)) {
  // spin: a timer would wake each contender at a different moment
}
try {
  const lock = await acquireRepoLock(dvcDir!);
  console.log("won");
  await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
  lock.release();
} catch {
  console.log("busy");
}
