import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ConfigError } from "../lib/errors/mod.ts";
import { configFiles, loadDvcConfig } from "../lib/project/dvc_config/mod.ts";
import { extractFixture, scratch } from "./helpers/tmp.ts";

interface Setup {
  dir: string;
  dvcDir: string;
  env: { HOME: string; DVC_SYSTEM_CONFIG_DIR: string; DVC_GLOBAL_CONFIG_DIR: string };
  write(level: "system" | "global" | "repo" | "local", text: string): void;
  cleanup(): Promise<void>;
}

/** A project in a temp folder with system/global config dirs set through DVC's variables. */
async function setup(): Promise<Setup> {
  const tmp = await scratch("dxp-config-");
  const dvcDir = join(tmp.dir, "proj", ".dvc");
  mkdirSync(dvcDir, { recursive: true });
  const env = {
    HOME: join(tmp.dir, "home"),
    DVC_SYSTEM_CONFIG_DIR: join(tmp.dir, "sys"),
    DVC_GLOBAL_CONFIG_DIR: join(tmp.dir, "glob"),
  };
  const paths = {
    system: join(env.DVC_SYSTEM_CONFIG_DIR, "config"),
    global: join(env.DVC_GLOBAL_CONFIG_DIR, "config"),
    repo: join(dvcDir, "config"),
    local: join(dvcDir, "config.local"),
  };
  return {
    dir: tmp.dir,
    dvcDir,
    env,
    write(level, text) {
      mkdirSync(dirname(paths[level]), { recursive: true });
      writeFileSync(paths[level], text);
    },
    cleanup: tmp.cleanup,
  };
}

async function configError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.replace("configuration error - config file error: ", "");
  }
  throw new Error("no error");
}

Deno.test("loadDvcConfig() merges system, global, repo and local key by key, later levels winning", async () => {
  const s = await setup();
  try {
    s.write("system", "[core]\nremote = a\n['remote \"a\"']\nurl = s3://sys/a\nregion = r-sys\n");
    s.write("global", "['remote \"a\"']\nurl = s3://glob/a\n['remote \"g\"']\nurl = s3://glob/g\n");
    s.write("repo", "[core]\nremote = B\n['remote \"b\"']\nurl = s3://repo/b\nprofile = p\n");
    s.write("local", "['remote \"b\"']\nprofile = q\n['remote \"a\"']\nregion = r-local\n");
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.equal(config.coreRemote, "b");
    assert.deepEqual(config.remoteNames(), ["a", "g", "b"]);
    assert.deepEqual(config.remote("A"), {
      name: "a",
      url: "s3://glob/a",
      type: "s3",
      options: { region: "r-local" },
    });
    assert.deepEqual(config.remote("b").options, { profile: "q" });
    assert.equal(config.source("core", "remote")?.file, join(s.dvcDir, "config"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() reads only the system and global levels outside a project", async () => {
  const s = await setup();
  try {
    s.write("global", "['remote \"g\"']\nurl = /g\n");
    s.write("repo", "['remote \"r\"']\nurl = /r\n");
    const config = await loadDvcConfig({ env: s.env });
    assert.deepEqual(config.remoteNames(), ["g"]);
    assert.equal(config.files.repo, undefined);
  } finally {
    await s.cleanup();
  }
});

Deno.test("configFiles() follows DVC_*_CONFIG_DIR, then XDG_CONFIG_DIRS / XDG_CONFIG_HOME, then ~/.config", () => {
  if (Deno.build.os !== "linux") return;
  assert.deepEqual(
    configFiles({
      env: { DVC_SYSTEM_CONFIG_DIR: "/s", DVC_GLOBAL_CONFIG_DIR: "/g" },
      dvcDir: "/p/.dvc",
    }),
    {
      system: "/s/config",
      global: "/g/config",
      repo: "/p/.dvc/config",
      local: "/p/.dvc/config.local",
    },
  );
  assert.deepEqual(
    configFiles({ env: { XDG_CONFIG_DIRS: "/x1:/x2", XDG_CONFIG_HOME: "/xh", HOME: "/h" } }),
    { system: "/x1/dvc/config", global: "/xh/dvc/config" },
  );
  assert.deepEqual(configFiles({ env: { HOME: "/h", XDG_CONFIG_HOME: " " } }), {
    system: "/etc/xdg/dvc/config",
    global: "/h/.config/dvc/config",
  });
});

Deno.test("loadDvcConfig() reads the global level from $XDG_CONFIG_HOME/dvc/config", async () => {
  const s = await setup();
  try {
    const xdg = join(s.dir, "xdg");
    mkdirSync(join(xdg, "dvc"), { recursive: true });
    writeFileSync(join(xdg, "dvc", "config"), "['remote \"x\"']\nurl = rel/store\n");
    const env = {
      HOME: s.env.HOME,
      XDG_CONFIG_HOME: xdg,
      DVC_SYSTEM_CONFIG_DIR: join(s.dir, "none"),
    };
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env });
    assert.equal(config.remote("x").url, join(xdg, "dvc", "rel", "store"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() resolves a relative local URL against the folder of the file that holds it", async () => {
  const s = await setup();
  try {
    s.write("global", "['remote \"g\"']\nurl = ../gstore\n");
    s.write("repo", "['remote \"r\"']\nurl = ../../store\n[cache]\ndir = ../cache\n");
    s.write(
      "local",
      "['remote \"l\"']\nurl = local-store\n['remote \"k\"']\nurl = ssh://h/p\nkeyfile = keys/id\n",
    );
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.equal(config.remote("g").url, join(s.dir, "gstore"));
    assert.equal(config.remote("r").url, join(s.dir, "store"));
    assert.equal(config.remote("l").url, join(s.dvcDir, "local-store"));
    assert.equal(config.remote("k").options["keyfile"], join(s.dvcDir, "keys", "id"));
    assert.equal(config.cacheDir, join(s.dir, "proj", "cache"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() resolves a committed config's relative URL against the workspace .dvc, not /.dvc", async () => {
  const s = await setup();
  try {
    s.write("repo", "['remote \"r\"']\nurl = /workspace/only\n");
    s.write("local", "['remote \"l\"']\nurl = /local\n");
    const config = await loadDvcConfig({
      dvcDir: s.dvcDir,
      env: s.env,
      repoConfigText: "[core]\nremote = store\n['remote \"store\"']\nurl = ../../dvcstore\n",
    });
    assert.equal(config.coreRemote, "store");
    assert.deepEqual(config.remoteNames(), ["store", "l"]);
    assert.equal(config.remote("store").url, join(s.dir, "dvcstore"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() leaves URLs and absolute paths alone and expands ~", async () => {
  const s = await setup();
  try {
    s.write(
      "repo",
      "['remote \"a\"']\nurl = /abs/store\n['remote \"h\"']\nurl = ~/store\n" +
        "['remote \"f\"']\nurl = file:///files/x\n['remote \"s\"']\nurl = ssh://u@host:22/p\n",
    );
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.equal(config.remote("a").url, "/abs/store");
    assert.equal(config.remote("h").url, join(s.env.HOME, "store"));
    assert.deepEqual([config.remote("f").url, config.remote("f").type], ["/files/x", ""]);
    assert.deepEqual([config.remote("s").url, config.remote("s").type], [
      "ssh://u@host:22/p",
      "ssh",
    ]);
  } finally {
    await s.cleanup();
  }
});

Deno.test("remote() resolves remote://base/sub: base options shadowed by its own, path appended", async () => {
  const s = await setup();
  try {
    s.write(
      "repo",
      "['remote \"server\"']\nurl = ssh://localhost\nuser = root\nask_password = true\n" +
        "['remote \"images\"']\nurl = remote://server/tmp/pictures\nuser = alice\npassword = asdf1234\n" +
        "['remote \"thumbs\"']\nurl = remote://IMAGES/small\n" +
        "['remote \"local\"']\nurl = ../store\n['remote \"sub\"']\nurl = remote://local/part\n",
    );
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.deepEqual(config.remote("images"), {
      name: "images",
      url: "ssh://localhost/tmp/pictures",
      type: "ssh",
      options: { user: "alice", ask_password: "true", password: "asdf1234" },
    });
    assert.equal(config.remote("thumbs").url, "ssh://localhost/tmp/pictures/small");
    assert.equal(config.remote("sub").url, join(s.dir, "proj", "store", "part"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("remote() names an unknown remote, or a remote:// base that is missing or circular", async () => {
  const s = await setup();
  try {
    s.write(
      "repo",
      "['remote \"a\"']\nurl = remote://nope/x\n['remote \"b\"']\nurl = remote://c/x\n" +
        "['remote \"c\"']\nurl = remote://b/y\n",
    );
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.equal(
      await configError(Promise.resolve().then(() => config.remote("Missing"))),
      "remote 'Missing' doesn't exist",
    );
    assert.equal(
      await configError(Promise.resolve().then(() => config.remote("a"))),
      "remote 'nope' doesn't exist",
    );
    assert.match(
      await configError(Promise.resolve().then(() => config.remote("b"))),
      /refers to itself/,
    );
  } finally {
    await s.cleanup();
  }
});

const SCHEMA_ERRORS: [string, string, string][] = [
  [
    "unknown core key",
    "[core]\nremote = a\nfoo = 1\n",
    "extra keys not allowed @ data['core']['foo']",
  ],
  ["unknown cache key", "[cache]\ndirr = x\n", "extra keys not allowed @ data['cache']['dirr']"],
  [
    "S3 option on a local remote",
    "['remote \"a\"']\nurl = /a\nregion = x\n",
    "extra keys not allowed @ data['remote']['a']['region']",
  ],
  [
    "unknown S3 option",
    "['remote \"a\"']\nurl = s3://b\nregionn = x\n",
    "extra keys not allowed @ data['remote']['a']['regionn']",
  ],
  [
    "SSH-only option on https",
    "['remote \"a\"']\nurl = https://h/p\nkeyfile = k\n",
    "extra keys not allowed @ data['remote']['a']['keyfile']",
  ],
  ["unknown section", "[nope]\nx = 1\n", "extra keys not allowed @ data['nope']"],
  ["top-level key", "x = 1\n", "extra keys not allowed @ data['x']"],
  ["subsection", "[core]\n[[sub]]\nx = 1\n", "extra keys not allowed @ data['core']['sub']"],
  [
    "bad boolean",
    "[core]\nautostage = yes\n",
    "expected true or false for dictionary value @ data['core']['autostage']",
  ],
  [
    "jobs below one",
    "['remote \"a\"']\nurl = /a\njobs = 0\n",
    "value must be at least 1 for dictionary value @ data['remote']['a']['jobs']",
  ],
  [
    "jobs not a number",
    "['remote \"a\"']\nurl = /a\njobs = many\n",
    "expected int for dictionary value @ data['remote']['a']['jobs']",
  ],
  [
    "bad link type",
    "[cache]\ntype = reflink,teleport\n",
    "Unsupported cache type(s): teleport for dictionary value @ data['cache']['type']",
  ],
  [
    "unknown URL scheme",
    "['remote \"a\"']\nurl = foo://x\n",
    "Unsupported URL type foo:// for dictionary value @ data['remote']['a']",
  ],
  [
    "remote without url",
    "['remote \"a\"']\njobs = 2\n",
    "expected 'url' for dictionary value @ data['remote']['a']",
  ],
  [
    "list where a string is needed",
    "['remote \"a\"']\nurl = s3://b\ngrant_read = id=a,id=b\n",
    "expected str for dictionary value @ data['remote']['a']['grant_read']",
  ],
  [
    "cache_regions from a file",
    "['remote \"a\"']\nurl = s3://b\ncache_regions = true\n",
    "expected bool for dictionary value @ data['remote']['a']['cache_regions']",
  ],
  [
    "bad shared value",
    "[cache]\nshared = world\n",
    "expected one of group for dictionary value @ data['cache']['shared']",
  ],
];

for (const [what, text, expected] of SCHEMA_ERRORS) {
  Deno.test(`loadDvcConfig() refuses ${what} with DVC's schema message`, async () => {
    const s = await setup();
    try {
      s.write("repo", text);
      assert.equal(await configError(loadDvcConfig({ dvcDir: s.dvcDir, env: s.env })), expected);
    } finally {
      await s.cleanup();
    }
  });
}

Deno.test("loadDvcConfig() accepts every known option kind and ignores unknown feature keys", async () => {
  const s = await setup();
  try {
    s.write(
      "repo",
      "[core]\nremote = s\nautostage = TRUE\nchecksum_jobs = 4\n[cache]\ntype = reflink,copy\nshared = Group\n" +
        "dir = c\n[feature]\nwhatever = 1\n[exp]\ngit_remote = upstream\nauto_push = true\n" +
        "['remote \"s\"']\nurl = s3://b/p\nregion = us-east-1\nendpointurl = http://127.0.0.1:9000\n" +
        "use_ssl = false\nssl_verify = /ca.pem\nread_timeout = 30\njobs = 8\n" +
        "['remote \"h\"']\nurl = https://h/p\nauth = basic\nmethod = PUT\nconnect_timeout = 1.5\n" +
        "['remote \"x\"']\nurl = ssh://h/p\nport = 2222\nkeyfile = ~/.ssh/k\nallow_agent = false\n",
    );
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env });
    assert.deepEqual(config.cacheType, ["reflink", "copy"]);
    assert.equal(config.cacheShared, "group");
    assert.equal(config.getBool("core", "autostage"), true);
    assert.equal(config.get("core", "checksum_jobs"), "4");
    assert.equal(config.expGitRemote, "upstream");
    assert.equal(config.expAutoPush, true);
    assert.equal(config.remote("x").options["keyfile"], join(s.env.HOME, ".ssh", "k"));
    assert.equal(config.remote("h").type, "https");
  } finally {
    await s.cleanup();
  }
});

Deno.test("DvcConfig lets DVC_EXP_GIT_REMOTE and DVC_EXP_AUTO_PUSH override the exp section", async () => {
  const s = await setup();
  try {
    s.write("repo", "[exp]\ngit_remote = upstream\nauto_push = true\n");
    const env = { ...s.env, DVC_EXP_GIT_REMOTE: "other", DVC_EXP_AUTO_PUSH: "0" };
    const config = await loadDvcConfig({ dvcDir: s.dvcDir, env });
    assert.equal(config.expGitRemote, "other");
    assert.equal(config.expAutoPush, false);
    const plain = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env, repoConfigText: "" });
    assert.equal(plain.expGitRemote, "origin");
    assert.equal(plain.expAutoPush, false);
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() says the line as configobj does and keeps the file in the error's data", async () => {
  const s = await setup();
  try {
    s.write("global", "[core]\nremote\n");
    const error = await loadDvcConfig({ dvcDir: s.dvcDir, env: s.env }).catch((e) => e);
    assert.ok(error instanceof ConfigError);
    assert.equal(
      error.message,
      "configuration error - config file error: " +
        "Invalid line ('remote') (matched as neither section nor keyword) at line 2.",
    );
    assert.equal(error.data["file"], join(s.env.DVC_GLOBAL_CONFIG_DIR, "config"));
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() refuses a config file that is not UTF-8", async () => {
  const s = await setup();
  try {
    writeFileSync(join(s.dvcDir, "config"), new Uint8Array([0x5b, 0xff, 0x5d, 0x0a]));
    assert.match(
      await configError(loadDvcConfig({ dvcDir: s.dvcDir, env: s.env })),
      /not valid UTF-8/,
    );
  } finally {
    await s.cleanup();
  }
});

Deno.test("loadDvcConfig() on the basic fixture finds remote 'store' at <fixture>/dvcstore", async () => {
  const tmp = await scratch();
  try {
    const root = extractFixture("basic", tmp.dir);
    const env = {
      HOME: tmp.dir,
      DVC_GLOBAL_CONFIG_DIR: join(tmp.dir, "g"),
      DVC_SYSTEM_CONFIG_DIR: join(tmp.dir, "s"),
    };
    const config = await loadDvcConfig({ dvcDir: join(root, "repo", ".dvc"), env });
    assert.equal(config.coreRemote, "store");
    assert.deepEqual(config.remote("store"), {
      name: "store",
      url: join(root, "dvcstore"),
      type: "",
      options: {},
    });
    assert.equal(config.cacheDir, undefined);
  } finally {
    await tmp.cleanup();
  }
});
