/**
 * The progress display of `exp push` / `exp pull` on the binary. On a real
 * terminal (`script` gives dist/dxp a pty) a redrawn bar shows each phase;
 * `--no-progress` and `-q` leave only the messages. On a pipe (CI logs) a
 * phase shorter than ~2 s prints nothing, a longer one plain lines: a DVC
 * HTTP remote that answers each request after a pause makes the download
 * phase long for sure (a lower bound on its length, not a time limit).
 */
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { DXP_BIN, run, runAsync, type RunResult } from "./helpers/tmp.ts";

const EXP_A_B1 = "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-a";
const ESC = "\x1b";

/** Quotes one argument for /bin/sh. */
function sq(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}

/** Runs dist/dxp on a pseudo-terminal: stdout and stderr both arrive in `stdout`. */
function dxpOnTty(fx: FixtureCopy, args: string[], cwd = fx.repo): RunResult {
  const command = [DXP_BIN, ...args].map(sq).join(" ");
  return run("script", ["-qfec", command, "/dev/null"], {
    cwd,
    env: { ...fx.env, SHELL: "/bin/sh", TERM: "xterm" },
  });
}

function remoteHas(fx: FixtureCopy, ref: string): boolean {
  return fx.git(["ls-remote", "../origin.git", ref]) !== "";
}

Deno.test("dxp exp push on a terminal draws a progress bar; --no-progress and -q do not", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const shown = dxpOnTty(fx, ["exp", "push", "origin", EXP_A_B1]);
    assert.equal(shown.code, 0, shown.stdout);
    assert.match(shown.stdout, /Pushing \|[█░]+\| 12\/12 objects/);
    assert.ok(shown.stdout.includes(`${ESC}[?25l`), "the cursor is hidden while the bar draws");
    assert.match(
      shown.stdout,
      /Pushed experiment exp-a to Git remote 'origin'\.\r\n12 files uploaded\r\n$/,
    );
    assert.ok(remoteHas(fx, EXP_A_B1));

    // Another experiment (exp-a of B2), without a bar.
    const quietBar = dxpOnTty(fx, ["exp", "push", "--no-progress", "origin", "exp-a"]);
    assert.equal(quietBar.code, 0, quietBar.stdout);
    assert.equal(
      quietBar.stdout,
      "Pushed experiment exp-a to Git remote 'origin'.\r\n3 files uploaded\r\n",
    );
    assert.ok(remoteHas(fx, "refs/exps/c8/eada1176f7ecc6d6b39885e2ca39834e41eee8/exp-a"));

    // -q: nothing at all on the terminal, the push still happens.
    fx.git(
      ["update-ref", "-d", "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b"],
      join(fx.root, "origin.git"),
    );
    const quiet = dxpOnTty(fx, ["exp", "push", "-q", "origin", "exp-b"]);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout, "");
    assert.ok(remoteHas(fx, "refs/exps/21/f7f42d14aa43c823f2eb809f36b2453ef5d73b/exp-b"));
  } finally {
    await fx.cleanup();
  }
});

Deno.test("dxp exp pull on a terminal draws the fetch bar; --no-progress does not", async () => {
  const fx = await fixtureCopy("basic");
  try {
    const clone = fx.freshClone();
    const shown = dxpOnTty(fx, ["exp", "pull", "origin", "exp-b"], clone);
    assert.equal(shown.code, 0, shown.stdout);
    // The .dir manifest comes first (collecting), then its 21 files and raw.csv.
    assert.match(shown.stdout, /Fetching \|[█░]+\| 22\/22 objects/);
    assert.match(shown.stdout, /Pulled experiment exp-b from Git remote 'origin'\.\r\n$/);
    assert.equal(listFiles(join(clone, ".dvc", "cache")).length, 23);

    const clone2 = join(fx.root, "clone2");
    fx.git(["clone", "-q", join(fx.root, "origin.git"), clone2], fx.root);
    const plain = dxpOnTty(fx, ["exp", "pull", "--no-progress", "origin", "typed-gulf"], clone2);
    assert.equal(plain.code, 0, plain.stdout);
    assert.equal(plain.stdout, "Pulled experiment typed-gulf from Git remote 'origin'.\r\n");
    assert.ok(listFiles(join(clone2, ".dvc", "cache")).length > 0);
  } finally {
    await fx.cleanup();
  }
});

/** A read-only DVC HTTP remote serving `dir`, each answer after `delayMs`. */
async function slowHttpRemote(dir: string, delayMs: number) {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    setTimeout(() => {
      const path = normalize(
        join(dir, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)),
      );
      let size = -1;
      try {
        if (path.startsWith(dir) && statSync(path).isFile()) size = statSync(path).size;
      } catch { /* missing */ }
      if (size < 0) {
        res.writeHead(404).end();
      } else if (req.method === "HEAD") {
        res.writeHead(200, { "Content-Length": size }).end();
      } else {
        res.writeHead(200, { "Content-Length": size }).end(readFileSync(path));
      }
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

Deno.test("dxp exp pull on a pipe prints plain progress lines only for a phase longer than ~2 s, none with --no-progress", async () => {
  const fx = await fixtureCopy("basic");
  // 23 objects, one at a time, each request answered after 150 ms: the download phase
  // lasts at least 3.4 s whatever the machine's speed.
  const remote = await slowHttpRemote(join(fx.root, "dvcstore"), 150);
  try {
    const pipe = (args: string[], cwd: string) => runAsync(DXP_BIN, args, { cwd, env: fx.env });
    const clone = fx.freshClone();
    const pointAtRemote = (repo: string) =>
      writeFileSync(
        join(repo, ".dvc", "config.local"),
        `['remote "store"']\n    url = ${remote.url}\n`,
      );
    pointAtRemote(clone);
    const shown = await pipe(["exp", "pull", "-j", "1", "origin", "exp-b"], clone);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal(shown.stdout, "Pulled experiment exp-b from Git remote 'origin'.\n");
    assert.ok(!shown.stderr.includes(ESC), "no escape sequences on a pipe");
    const lines = shown.stderr.split("\n").filter(Boolean);
    assert.ok(lines.length >= 2, shown.stderr);
    for (const line of lines) {
      assert.match(
        line,
        /^(Checking remote|Fetching): \d+\/\d+ objects(, [\d.]+\/[\d.]+ MiB)?(, [\d.]+ MiB\/s, \d+ objects\/s(, ETA \d+:\d\d(:\d\d)?)?)?$/,
      );
    }
    // While it runs: the rate and the time left, like rclone and DVC.
    assert.ok(
      lines.some((l) => /^Fetching: \d+\/22 objects.*, \d+ objects\/s, ETA \d+:\d\d$/.test(l)),
      shown.stderr,
    );
    // The last line gives the final figures of the transfer.
    assert.match(lines.at(-1)!, /^Fetching: 22\/22 objects.*, [\d.]+ MiB\/s, \d+ objects\/s$/);
    assert.equal(listFiles(join(clone, ".dvc", "cache")).length, 23);

    const clone2 = join(fx.root, "clone2");
    fx.git(["clone", "-q", join(fx.root, "origin.git"), clone2], fx.root);
    pointAtRemote(clone2);
    const before = remote.requests();
    const silent = await pipe(
      ["exp", "pull", "--no-progress", "-j", "1", "origin", "exp-b"],
      clone2,
    );
    assert.equal(silent.code, 0, silent.stderr);
    assert.equal(silent.stderr, "");
    assert.ok(remote.requests() - before >= 23, "the same slow transfer ran");
    assert.equal(listFiles(join(clone2, ".dvc", "cache")).length, 23);
  } finally {
    await remote.stop();
    await fx.cleanup();
  }
});
