import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dxp, extractFixture, git, goldenEnv, type RunResult, scratch } from "./helpers/tmp.ts";

/** The basic fixture, extracted, with its own HOME and DVC config dirs. */
async function basic() {
  const tmp = await scratch("dxp-remote-cli-");
  const root = extractFixture("basic", tmp.dir);
  const repo = join(root, "repo");
  const env = goldenEnv(join(tmp.dir, "home"));
  return {
    tmp: tmp.dir,
    root,
    repo,
    env,
    run: (args: string[], cwd = repo) => dxp(args, { cwd, env }),
    config: () => readFileSync(join(repo, ".dvc", "config"), "utf8"),
    local: () => readFileSync(join(repo, ".dvc", "config.local"), "utf8"),
    cleanup: tmp.cleanup,
  };
}

const FIXTURE_CONFIG =
  "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../dvcstore\n";

/** One `ERROR: …` line on stderr, nothing on stdout, no stack trace. */
function assertError(result: RunResult, code: number, line: string): void {
  assert.equal(result.stderr, `${line}\n`);
  assert.equal(result.stdout, "");
  assert.equal(result.code, code);
}

/** A `remote list` line: rich expands DVC's tabs to 8-column stops. */
function listLine(name: string, url: string, isDefault: boolean): string {
  const pad = (text: string) => text + " ".repeat(8 - (text.length % 8));
  return isDefault ? `${pad(pad(name) + url)}(default)\n` : `${pad(name)}${url}\n`;
}

Deno.test("dxp remote list prints the fixture's remote with its normalised absolute path, as DVC 3.64", async () => {
  const t = await basic();
  try {
    const result = t.run(["remote", "list"]);
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, listLine("store", join(t.root, "dvcstore"), true));
    assert.equal(t.run(["remote", "list", "--project"]).stdout, result.stdout);
    assert.equal(t.run(["remote", "list", "--global"]).stdout, "");
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote add -d writes DVC's bytes and announces the default", async () => {
  const t = await basic();
  try {
    const result = t.run(["remote", "add", "-d", "S3remote", "s3://bucket/path"]);
    assert.equal(result.stdout, "Setting 's3remote' as a default remote.\n");
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    assert.equal(
      t.config(),
      "[core]\n    remote = s3remote\n['remote \"store\"']\n    url = ../../dvcstore\n" +
        "['remote \"s3remote\"']\n    url = s3://bucket/path\n",
    );
    assert.equal(
      t.run(["remote", "list"]).stdout,
      listLine("store", join(t.root, "dvcstore"), false) +
        listLine("s3remote", "s3://bucket/path", true),
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote add refuses an existing remote (251) and -f replaces it", async () => {
  const t = await basic();
  try {
    assertError(
      t.run(["remote", "add", "store", "/elsewhere"]),
      251,
      "ERROR: configuration error - config file error: remote 'store' already exists. " +
        "Use `-f|--force` to overwrite it.",
    );
    assert.equal(t.config(), FIXTURE_CONFIG);
    assert.equal(t.run(["remote", "add", "-f", "store", "/elsewhere"]).code, 0);
    assert.equal(t.config(), FIXTURE_CONFIG.replace("../../dvcstore", "/elsewhere"));
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote add --local stores a cwd-relative path relative to .dvc", async () => {
  const t = await basic();
  try {
    const sub = join(t.repo, "sub");
    mkdirSync(sub);
    assert.equal(t.run(["remote", "add", "--local", "backup", "../../backup"], sub).code, 0);
    assert.equal(
      t.local(),
      "['remote \"store\"']\n    url = ../../dvcstore\n['remote \"backup\"']\n    url = ../../backup\n",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote modify sets, checks and unsets options", async () => {
  const t = await basic();
  try {
    assert.equal(t.run(["remote", "modify", "store", "jobs", "4"]).code, 0);
    assert.equal(t.config(), `${FIXTURE_CONFIG}    jobs = 4\n`);
    assertError(
      t.run(["remote", "modify", "store", "region", "eu-west-1"]),
      251,
      "ERROR: configuration error - config file error: extra keys not allowed @ " +
        "data['remote']['store']['region']",
    );
    assertError(
      t.run(["remote", "modify", "nope", "jobs", "1"]),
      251,
      "ERROR: configuration error - config file error: remote 'nope' doesn't exist.",
    );
    assertError(
      t.run(["remote", "modify", "store", "jobs", "0"]),
      251,
      "ERROR: configuration error - config file error: value must be at least 1 for dictionary " +
        "value @ data['remote']['store']['jobs']",
    );
    assert.equal(t.run(["remote", "modify", "-u", "store", "jobs"]).code, 0);
    assert.equal(t.config(), FIXTURE_CONFIG);
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote default prints, sets and unsets the default remote", async () => {
  const t = await basic();
  try {
    assert.deepEqual(t.run(["remote", "default"]), { code: 0, stdout: "store\n", stderr: "" });
    assertError(
      t.run(["remote", "default", "nope"]),
      251,
      "ERROR: configuration error - config file error: default remote must be present in remote list.",
    );
    assert.equal(t.run(["remote", "default", "--unset"]).code, 0);
    assert.equal(t.config(), "['remote \"store\"']\n    url = ../../dvcstore\n");
    assert.deepEqual(t.run(["remote", "default"]), {
      code: 1,
      stdout: "No default remote set\n",
      stderr: "",
    });
    assert.equal(t.run(["remote", "default", "STORE"]).code, 0);
    assert.equal(t.config(), FIXTURE_CONFIG);
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote remove drops the remote and the default that pointed at it", async () => {
  const t = await basic();
  try {
    assert.equal(t.run(["remote", "remove", "store"]).code, 0);
    assert.equal(t.config(), "\n");
    // config.local still defines it, as with DVC.
    assert.equal(t.local(), "['remote \"store\"']\n    url = ../../dvcstore\n");
    assert.equal(
      t.run(["remote", "list"]).stdout,
      listLine("store", join(t.root, "dvcstore"), false),
    );
    assertError(
      t.run(["remote", "remove", "store"]),
      251,
      "ERROR: configuration error - config file error: remote 'store' doesn't exist.",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote rename renames the remote and the default", async () => {
  const t = await basic();
  try {
    assert.equal(t.run(["remote", "rename", "store", "shop"]).code, 0);
    assert.equal(
      t.config(),
      "[core]\n    remote = shop\n['remote \"shop\"']\n    url = ../../dvcstore\n",
    );
    assertError(
      t.run(["remote", "rename", "shop", "store"]),
      251,
      "ERROR: configuration error - config file error: Rename failed. Remote name 'store' already exists.",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote --global works outside a project; repo levels need one", async () => {
  const t = await basic();
  try {
    const outside = join(t.tmp, "elsewhere");
    mkdirSync(outside);
    assert.equal(t.run(["remote", "add", "--global", "-d", "g", "s3://bucket"], outside).code, 0);
    assert.equal(
      readFileSync(join(t.env["DVC_GLOBAL_CONFIG_DIR"]!, "config"), "utf8"),
      "[core]\n    remote = g\n['remote \"g\"']\n    url = s3://bucket\n",
    );
    assert.equal(t.run(["remote", "list"], outside).stdout, listLine("g", "s3://bucket", true));
    assertError(
      t.run(["remote", "add", "r", "s3://bucket"], outside),
      251,
      "ERROR: configuration error - config file error: Not inside a DVC repo",
    );
    // Inside the project the repo's default shadows the global one.
    assert.equal(
      t.run(["remote", "list"]).stdout,
      listLine("g", "s3://bucket", false) +
        listLine("store", join(t.root, "dvcstore"), true),
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote reports a broken config file in one line with configobj's `at line N.` (251)", async () => {
  const t = await basic();
  try {
    writeFileSync(join(t.repo, ".dvc", "config"), "[core]\n    remote = store\n    oops\n");
    assertError(
      t.run(["remote", "list"]),
      251,
      "ERROR: configuration error - config file error: Invalid line ('    oops') (matched as " +
        "neither section nor keyword) at line 3.",
    );
    assertError(
      t.run(["remote", "add", "x", "s3://b"]),
      251,
      t.run(["remote", "list"]).stderr.trimEnd(),
    );
    // -v names the file (DVC's message does not).
    const verbose = t.run(["remote", "list", "-v"]);
    assert.equal(verbose.code, 251);
    assert.ok(
      verbose.stderr.includes(`DEBUG: in the config file '${join(t.repo, ".dvc", "config")}'\n`),
      verbose.stderr,
    );
    // Several bad lines: configobj's summary, on one line.
    writeFileSync(join(t.repo, ".dvc", "config"), FIXTURE_CONFIG);
    writeFileSync(join(t.repo, ".dvc", "config.local"), "oops\n[core\n");
    assertError(
      t.run(["exp", "push", "origin", "exp-a"]),
      251,
      "ERROR: configuration error - config file error: " +
        "Parsing failed with several errors. First error at line 1.",
    );
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote rejects bad command lines with exit 254 and -q hides errors", async () => {
  const t = await basic();
  try {
    for (
      const args of [
        ["remote", "add", "onlyname"],
        ["remote", "add", "--global", "--local", "a", "s3://b"],
        ["remote", "modify", "store"],
        ["remote", "frobnicate"],
        ["remote", "list", "--bogus"],
      ]
    ) {
      const result = t.run(args);
      assert.equal(result.code, 254, args.join(" "));
      assert.equal(result.stdout, "");
      // Commander's own messages (main.ts maps their "error:" prefix only on the root command).
      assert.match(result.stderr, /^(ERROR|error): /);
      assert.doesNotMatch(result.stderr, /\n\s+at /);
    }
    assert.deepEqual(t.run(["remote", "add", "-q", "store", "/x"]), {
      code: 251,
      stdout: "",
      stderr: "",
    });
    assert.equal(t.config(), FIXTURE_CONFIG);
  } finally {
    await t.cleanup();
  }
});

Deno.test("a remote URL without bucket or host is one clear config error (251), nothing moved", async () => {
  const t = await basic();
  try {
    const origin = join(t.root, "origin.git");
    const refsBefore = git(["ls-remote", origin], t.repo);
    for (
      const [url, what] of [
        ["s3://", "bucket"],
        ["ssh://", "host"],
        ["ssh:///srv/store", "host"],
        ["https://", "host"],
      ] as const
    ) {
      assert.equal(t.run(["remote", "modify", "--local", "store", "url", url]).code, 0);
      assert.equal(t.local(), `['remote "store"']\n    url = ${url}\n`);
      const scheme = url.slice(0, url.indexOf(":"));
      const line = "ERROR: configuration error - config file error: the URL " +
        `'${url}' of remote 'store' has no ${what}: write it as ${scheme}://<${what}>/<path>`;
      assertError(t.run(["push"]), 251, line);
      assertError(t.run(["status", "-c"]), 251, line);
      assertError(t.run(["exp", "push", "origin", "exp-a"]), 251, line);
    }
    // The experiment's ref never reached the Git remote.
    assert.equal(git(["ls-remote", origin], t.repo), refsBefore);
    assert.doesNotMatch(refsBefore, /c8eada1176f7ecc6d6b39885e2ca39834e41eee8\/exp-a/);
  } finally {
    await t.cleanup();
  }
});

Deno.test("dxp remote add/modify/default/rename/list/remove write exactly the file of --system/--global/--project/--local", async () => {
  const t = await basic();
  try {
    const files = {
      system: join(t.env["DVC_SYSTEM_CONFIG_DIR"]!, "config"),
      global: join(t.env["DVC_GLOBAL_CONFIG_DIR"]!, "config"),
      project: join(t.repo, ".dvc", "config"),
      local: join(t.repo, ".dvc", "config.local"),
    };
    const read = (path: string) => existsSync(path) ? readFileSync(path, "utf8") : undefined;
    const snapshot = () =>
      Object.fromEntries(Object.entries(files).map(([level, path]) => [level, read(path)]));
    const others = (level: string, before: Record<string, string | undefined>) =>
      assert.deepEqual(
        Object.fromEntries(Object.entries(snapshot()).filter(([l]) => l !== level)),
        Object.fromEntries(Object.entries(before).filter(([l]) => l !== level)),
        `only the ${level} file changes`,
      );
    for (const level of ["system", "global", "project", "local"] as const) {
      const flag = `--${level}`;
      const file = files[level];
      const start = read(file) ?? "";
      const before = snapshot();
      const name = `r-${level}`;

      assert.equal(t.run(["remote", "add", flag, "-d", name, `s3://bucket/${level}`]).code, 0);
      const added = `${start}[core]\n    remote = ${name}\n['remote "${name}"']\n` +
        `    url = s3://bucket/${level}\n`;
      // The project and local files already hold the fixture's remote: core goes first.
      const expectedAdd = start === ""
        ? added
        : level === "project"
        ? `[core]\n    remote = ${name}\n['remote "store"']\n    url = ../../dvcstore\n` +
          `['remote "${name}"']\n    url = s3://bucket/${level}\n`
        : `[core]\n    remote = ${name}\n${start}['remote "${name}"']\n    url = s3://bucket/${level}\n`;
      assert.equal(read(file), expectedAdd, `${level}: add`);
      others(level, before);

      // list of that level shows its own remotes only, with its default.
      const listed = t.run(["remote", "list", flag]).stdout;
      assert.ok(listed.includes(listLine(name, `s3://bucket/${level}`, true)), listed);
      for (const other of ["system", "global", "project", "local"].filter((l) => l !== level)) {
        assert.ok(!listed.includes(`r-${other} `), `${level} list shows r-${other}`);
      }
      assert.deepEqual(t.run(["remote", "default", flag]), {
        code: 0,
        stdout: `${name}\n`,
        stderr: "",
      });

      assert.equal(t.run(["remote", "modify", flag, name, "region", "eu-west-1"]).code, 0);
      assert.equal(read(file), `${expectedAdd}    region = eu-west-1\n`, `${level}: modify`);
      assert.equal(t.run(["remote", "rename", flag, name, `${name}-2`]).code, 0);
      assert.equal(
        read(file),
        `${expectedAdd}    region = eu-west-1\n`.replaceAll(name, `${name}-2`),
        `${level}: rename`,
      );
      assert.equal(t.run(["remote", "remove", flag, `${name}-2`]).code, 0);
      // The remote goes, and so does the core.remote that named it (an empty file is "\n").
      const expectedRemove = start === ""
        ? "\n"
        : level === "project"
        ? "['remote \"store\"']\n    url = ../../dvcstore\n"
        : start;
      assert.equal(read(file), expectedRemove, `${level}: remove`);
      others(level, before);
      // Put the level back as it was for the next round.
      writeFileSync(file, start);
    }
  } finally {
    await t.cleanup();
  }
});
