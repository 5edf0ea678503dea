import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  credentialApprove,
  credentialFill,
  credentialFor,
  credentialReject,
  formatCredential,
  parseCredential,
} from "../lib/git/credentials.ts";
import { scratch } from "./helpers/tmp.ts";

/** An environment whose only Git config is `<home>/gitconfig` with `lines`. */
function helperEnv(home: string, lines: string[]): Record<string, string> {
  const config = join(home, "gitconfig");
  writeFileSync(config, lines.join("\n") + "\n");
  return {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: home,
    GIT_CONFIG_GLOBAL: config,
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

Deno.test("credentialFor() splits a URL into protocol, host:port, path and user", () => {
  assert.deepEqual(credentialFor(new URL("https://alice@example.com:8443/team/repo.git")), {
    protocol: "https",
    host: "example.com:8443",
    path: "team/repo.git",
    username: "alice",
  });
  assert.deepEqual(credentialFor(new URL("https://example.com/")), {
    protocol: "https",
    host: "example.com",
  });
});

Deno.test("formatCredential() writes key=value lines and refuses a value with a newline", () => {
  assert.equal(
    formatCredential({ protocol: "https", host: "h", path: "r.git" }),
    "protocol=https\nhost=h\npath=r.git\n\n",
  );
  assert.throws(() => formatCredential({ protocol: "https", host: "h\nx" }), RangeError);
});

Deno.test("parseCredential() keeps request fields the helper did not repeat", () => {
  const cred = parseCredential("username=bob\npassword=p=q\n", { protocol: "https", host: "h" });
  assert.deepEqual(cred, { protocol: "https", host: "h", username: "bob", password: "p=q" });
});

Deno.test("credentialFill() returns what a configured shell helper answers", async () => {
  const tmp = await scratch();
  try {
    const env = helperEnv(tmp.dir, [
      "[credential]",
      '\thelper = "!f() { test \\"$1\\" = get && echo username=bob && echo password=s3cret; }; f"',
    ]);
    const cred = await credentialFill(credentialFor(new URL("https://example.com/r.git")), {
      env,
      cwd: tmp.dir,
      interactive: false,
    });
    assert.equal(cred?.username, "bob");
    assert.equal(cred?.password, "s3cret");
    assert.equal(cred?.host, "example.com");
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("credentialFill() returns undefined when no helper answers and prompts are off", async () => {
  const tmp = await scratch();
  try {
    const env = helperEnv(tmp.dir, []);
    const lines: string[] = [];
    const cred = await credentialFill(credentialFor(new URL("https://example.com/r.git")), {
      env,
      cwd: tmp.dir,
      interactive: false,
      onDebug: (line) => lines.push(line),
    });
    assert.equal(cred, undefined);
    assert.match(lines.join("\n"), /git credential fill: exit 128/);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("credentialFill() returns undefined when there is no git binary", async () => {
  const tmp = await scratch();
  try {
    const env = { ...helperEnv(tmp.dir, []), PATH: join(tmp.dir, "empty") };
    const cred = await credentialFill(credentialFor(new URL("https://example.com/r.git")), {
      env,
      cwd: tmp.dir,
      interactive: false,
    });
    assert.equal(cred, undefined);
  } finally {
    await tmp.cleanup();
  }
});

Deno.test("credentialApprove() and credentialReject() store and erase through the store helper", async () => {
  const tmp = await scratch();
  try {
    const store = join(tmp.dir, "store");
    const env = helperEnv(tmp.dir, ["[credential]", `\thelper = store --file=${store}`]);
    const ctx = { env, cwd: tmp.dir, interactive: false };
    const request = credentialFor(new URL("https://example.com:8443/r.git"));
    await credentialApprove({ ...request, username: "bob", password: "pw" }, ctx);
    assert.equal(readFileSync(store, "utf8").trim(), "https://bob:pw@example.com%3a8443");
    const filled = await credentialFill(request, ctx);
    assert.equal(filled?.password, "pw");
    await credentialReject({ ...request, username: "bob", password: "pw" }, ctx);
    assert.equal(readFileSync(store, "utf8").trim(), "");
    assert.equal(await credentialFill(request, ctx), undefined);
  } finally {
    await tmp.cleanup();
  }
});
