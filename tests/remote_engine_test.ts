import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  remoteAdd,
  remoteDefaultGet,
  remoteDefaultSet,
  remoteList,
  remoteModify,
  remoteRemove,
  remoteRename,
} from "../lib/engine/remote.ts";
import { ConfigError } from "../lib/errors/mod.ts";
import { scratch } from "./helpers/tmp.ts";

type Level = "system" | "global" | "repo" | "local";

/** A project with its four config files in a temp folder. */
async function project() {
  const tmp = await scratch("dxp-remote-");
  const root = join(tmp.dir, "proj");
  mkdirSync(join(root, ".dvc"), { recursive: true });
  const env = {
    HOME: join(tmp.dir, "home"),
    DVC_SYSTEM_CONFIG_DIR: join(tmp.dir, "sys"),
    DVC_GLOBAL_CONFIG_DIR: join(tmp.dir, "glob"),
  };
  const files: Record<Level, string> = {
    system: join(env.DVC_SYSTEM_CONFIG_DIR, "config"),
    global: join(env.DVC_GLOBAL_CONFIG_DIR, "config"),
    repo: join(root, ".dvc", "config"),
    local: join(root, ".dvc", "config.local"),
  };
  return {
    tmp: tmp.dir,
    root,
    env,
    scope: (level?: Level) => ({ cwd: root, env, level }),
    write(level: Level, text: string) {
      mkdirSync(dirname(files[level]), { recursive: true });
      writeFileSync(files[level], text);
    },
    read(level: Level): string | undefined {
      return existsSync(files[level]) ? readFileSync(files[level], "utf8") : undefined;
    },
    cleanup: tmp.cleanup,
  };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  throw new Error("no error");
}

const PREFIX = "configuration error - config file error: ";

Deno.test("remoteAdd() writes a relative path relative to the config file, as DVC does", async () => {
  const p = await project();
  try {
    await remoteAdd({ ...p.scope(), name: "Store", url: "../store", setDefault: true });
    assert.equal(
      p.read("repo"),
      "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../store\n",
    );
    mkdirSync(join(p.root, "sub"));
    await remoteAdd({
      cwd: join(p.root, "sub"),
      env: p.env,
      level: "local",
      name: "l",
      url: "data",
    });
    assert.equal(p.read("local"), "['remote \"l\"']\n    url = ../sub/data\n");
    await remoteAdd({ ...p.scope("global"), name: "g", url: "/abs/g" });
    assert.equal(p.read("global"), "['remote \"g\"']\n    url = /abs/g\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteAdd() refuses an existing name without force and replaces the whole remote with it", async () => {
  const p = await project();
  try {
    p.write(
      "repo",
      "['remote \"a\"']\n    url = s3://b/p\n    region = x\n# keep me\n[cache]\n    dir = c\n",
    );
    assert.equal(
      await failure(remoteAdd({ ...p.scope(), name: "A", url: "/x" })),
      `${PREFIX}remote 'a' already exists. Use \`-f|--force\` to overwrite it.`,
    );
    await remoteAdd({ ...p.scope(), name: "a", url: "/x", force: true });
    assert.equal(
      p.read("repo"),
      "['remote \"a\"']\n    url = /x\n# keep me\n[cache]\n    dir = c\n",
    );
    // A remote of another level is shadowed, not refused (DVC checks the edited level only).
    await remoteAdd({ ...p.scope("local"), name: "a", url: "/y" });
    assert.equal(p.read("local"), "['remote \"a\"']\n    url = /y\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteAdd() checks the result against the schema and leaves the file alone on error", async () => {
  const p = await project();
  try {
    p.write("repo", "[core]\n    remote = a\n");
    assert.equal(
      await failure(remoteAdd({ ...p.scope(), name: "x", url: "foo://host/p" })),
      `${PREFIX}Unsupported URL type foo:// for dictionary value @ data['remote']['x']`,
    );
    assert.equal(p.read("repo"), "[core]\n    remote = a\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteAdd() outside a project works for --global and fails for the repo levels", async () => {
  const p = await project();
  try {
    const outside = { cwd: p.tmp, env: p.env };
    await remoteAdd({ ...outside, level: "global", name: "g", url: "s3://b" });
    assert.deepEqual(await remoteList(outside), [{ name: "g", url: "s3://b", isDefault: false }]);
    assert.equal(
      await failure(remoteAdd({ ...outside, name: "r", url: "s3://b" })),
      `${PREFIX}Not inside a DVC repo`,
    );
    assert.equal(
      await failure(remoteList({ ...outside, level: "local" })),
      `${PREFIX}Not inside a DVC repo`,
    );
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteModify() sets and unsets options of a remote defined at a lower level", async () => {
  const p = await project();
  try {
    p.write("repo", "['remote \"s\"']\n    url = s3://b/p\n");
    await remoteModify({ ...p.scope("local"), name: "S", option: "Profile", value: "team" });
    assert.equal(p.read("local"), "['remote \"s\"']\n    profile = team\n");
    await remoteModify({ ...p.scope(), name: "s", option: "credentialpath", value: "creds" });
    assert.equal(
      p.read("repo"),
      "['remote \"s\"']\n    url = s3://b/p\n    credentialpath = ../creds\n",
    );
    await remoteModify({ ...p.scope("local"), name: "s", option: "profile", unset: true });
    assert.equal(p.read("local"), "['remote \"s\"']\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteModify() refuses unknown remotes, unknown options and missing values", async () => {
  const p = await project();
  try {
    p.write("repo", "['remote \"s\"']\n    url = s3://b/p\n['remote \"l\"']\n    url = /l\n");
    p.write("local", "['remote \"only\"']\n    url = /o\n");
    assert.equal(
      await failure(remoteModify({ ...p.scope(), name: "nope", option: "region", value: "x" })),
      `${PREFIX}remote 'nope' doesn't exist.`,
    );
    // A level does not see the levels above it.
    assert.equal(
      await failure(remoteModify({ ...p.scope(), name: "only", option: "jobs", value: "2" })),
      `${PREFIX}remote 'only' doesn't exist.`,
    );
    assert.equal(
      await failure(remoteModify({ ...p.scope(), name: "l", option: "region", value: "x" })),
      `${PREFIX}extra keys not allowed @ data['remote']['l']['region']`,
    );
    assert.equal(
      await failure(remoteModify({ ...p.scope(), name: "s", option: "use_ssl", value: "maybe" })),
      `${PREFIX}expected true or false for dictionary value @ data['remote']['s']['use_ssl']`,
    );
    assert.equal(
      await failure(remoteModify({ ...p.scope(), name: "s", option: "region" })),
      `${PREFIX}expected str for dictionary value @ data['remote']['s']['region']`,
    );
    assert.equal(
      p.read("repo"),
      "['remote \"s\"']\n    url = s3://b/p\n['remote \"l\"']\n    url = /l\n",
    );
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteRemove() drops the remote and clears core.remote in its level and the ones above", async () => {
  const p = await project();
  try {
    p.write("global", "[core]\n    remote = a\n['remote \"a\"']\n    url = /g\n");
    p.write(
      "repo",
      "[core]\n    remote = a\n    autostage = true\n['remote \"a\"']\n    url = /r\n",
    );
    p.write("local", "[core]\n    remote = A\n");
    await remoteRemove({ ...p.scope(), name: "a" });
    assert.equal(p.read("repo"), "[core]\n    autostage = true\n");
    assert.equal(p.read("local"), "\n");
    assert.equal(p.read("global"), "[core]\n    remote = a\n['remote \"a\"']\n    url = /g\n");
    assert.equal(
      await failure(remoteRemove({ ...p.scope(), name: "a" })),
      `${PREFIX}remote 'a' doesn't exist.`,
    );
    await remoteRemove({ ...p.scope("global"), name: "a" });
    assert.equal(p.read("global"), "\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteDefaultGet() and remoteDefaultSet() read, set and unset core.remote", async () => {
  const p = await project();
  try {
    p.write("repo", "['remote \"r\"']\n    url = /r\n");
    p.write("local", "['remote \"l\"']\n    url = /l\n");
    assert.equal(await remoteDefaultGet(p.scope()), undefined);
    await remoteDefaultSet({ ...p.scope(), name: "L" });
    assert.equal(p.read("repo"), "[core]\n    remote = l\n['remote \"r\"']\n    url = /r\n");
    assert.equal(await remoteDefaultGet(p.scope()), "l");
    await remoteDefaultSet({ ...p.scope("local"), name: "r" });
    assert.equal(await remoteDefaultGet(p.scope()), "r");
    assert.equal(await remoteDefaultGet(p.scope("repo")), "l");
    assert.equal(
      await failure(remoteDefaultSet({ ...p.scope(), name: "nope" })),
      `${PREFIX}default remote must be present in remote list.`,
    );
    // --project only sees the levels below it and its own: `l` lives in config.local.
    assert.equal(
      await failure(remoteDefaultSet({ ...p.scope("repo"), name: "l" })),
      `${PREFIX}default remote must be present in remote list.`,
    );
    await remoteDefaultSet({ ...p.scope(), unset: true });
    assert.equal(p.read("repo"), "['remote \"r\"']\n    url = /r\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteRename() renames the section and the defaults pointing at it", async () => {
  const p = await project();
  try {
    p.write(
      "repo",
      "[core]\n    remote = old\n# the store\n['remote \"old\"']\n    url = /o\n    jobs = 2\n",
    );
    p.write("local", "[core]\n    remote = old\n");
    p.write("global", "['remote \"taken\"']\n    url = /t\n");
    assert.equal(
      await failure(remoteRename({ ...p.scope(), name: "old", newName: "Taken" })),
      `${PREFIX}Rename failed. Remote name 'Taken' already exists.`,
    );
    assert.equal(
      await failure(remoteRename({ ...p.scope(), name: "nope", newName: "x" })),
      `${PREFIX}remote 'nope' doesn't exist.`,
    );
    await remoteRename({ ...p.scope(), name: "OLD", newName: "new" });
    assert.equal(
      p.read("repo"),
      "[core]\n    remote = new\n# the store\n['remote \"new\"']\n    url = /o\n    jobs = 2\n",
    );
    assert.equal(p.read("local"), "[core]\n    remote = new\n");
  } finally {
    await p.cleanup();
  }
});

Deno.test("remoteList() merges the levels, marks the default and normalises relative URLs as DVC 3.x", async () => {
  const p = await project();
  try {
    p.write("global", "['remote \"g\"']\n    url = ../gstore\n");
    p.write("repo", "[core]\n    remote = R\n['remote \"r\"']\n    url = ../../store\n");
    p.write("local", "['remote \"r\"']\n    url = /abs\n['remote \"bare\"']\n    jobs = 2\n");
    assert.deepEqual(await remoteList(p.scope()), [
      { name: "g", url: join(p.tmp, "gstore"), isDefault: false },
      { name: "r", url: "/abs", isDefault: true },
      { name: "bare", url: "", isDefault: false },
    ]);
    assert.deepEqual(await remoteList(p.scope("repo")), [
      { name: "r", url: join(p.tmp, "store"), isDefault: true },
    ]);
  } finally {
    await p.cleanup();
  }
});
