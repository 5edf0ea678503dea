import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors/mod.ts";
import { parseGitUrl } from "../lib/git/transport/url.ts";

const CWD = "/work/project";

Deno.test("parseGitUrl() reads ssh:// and git+ssh:// URLs with user, port and ~user paths", () => {
  assert.deepEqual(parseGitUrl("ssh://git@example.com:2222/team/repo.git", CWD), {
    kind: "ssh",
    user: "git",
    host: "example.com",
    port: 2222,
    path: "/team/repo.git",
  });
  assert.deepEqual(parseGitUrl("git+ssh://example.com/repo", CWD), {
    kind: "ssh",
    host: "example.com",
    path: "/repo",
  });
  assert.deepEqual(parseGitUrl("ssh+git://example.com/repo", CWD), {
    kind: "ssh",
    host: "example.com",
    path: "/repo",
  });
  assert.deepEqual(parseGitUrl("ssh://host/~alice/repo.git", CWD), {
    kind: "ssh",
    host: "host",
    path: "~alice/repo.git",
  });
  assert.deepEqual(parseGitUrl("ssh://[::1]:22/srv/r", CWD), {
    kind: "ssh",
    host: "::1",
    port: 22,
    path: "/srv/r",
  });
  assert.deepEqual(parseGitUrl("SSH://h/r", CWD), { kind: "ssh", host: "h", path: "/r" });
  assert.deepEqual(parseGitUrl("ssh://h/a%20b", CWD), { kind: "ssh", host: "h", path: "/a b" });
});

Deno.test("parseGitUrl() reads scp-like URLs (a colon before any slash)", () => {
  assert.deepEqual(parseGitUrl("git@github.com:team/repo.git", CWD), {
    kind: "ssh",
    user: "git",
    host: "github.com",
    path: "team/repo.git",
  });
  assert.deepEqual(parseGitUrl("host:/abs/repo", CWD), {
    kind: "ssh",
    host: "host",
    path: "/abs/repo",
  });
  assert.deepEqual(parseGitUrl("host:~/repo", CWD), { kind: "ssh", host: "host", path: "~/repo" });
  assert.deepEqual(parseGitUrl("[git@host:2200]:repo", CWD), {
    kind: "ssh",
    user: "git",
    host: "host",
    port: 2200,
    path: "repo",
  });
  assert.deepEqual(parseGitUrl("[::1]:repo", CWD), { kind: "ssh", host: "::1", path: "repo" });
  assert.deepEqual(parseGitUrl("me@[fe80::1]:repo", CWD), {
    kind: "ssh",
    user: "me",
    host: "fe80::1",
    path: "repo",
  });
});

Deno.test("parseGitUrl() treats paths, file:// and drive letters as local", () => {
  assert.deepEqual(parseGitUrl("/srv/repo.git", CWD), { kind: "local", path: "/srv/repo.git" });
  assert.deepEqual(parseGitUrl("../other", CWD), { kind: "local", path: "/work/other" });
  assert.deepEqual(parseGitUrl("./dir:with-colon", CWD), {
    kind: "local",
    path: "/work/project/dir:with-colon",
  });
  assert.deepEqual(parseGitUrl("sub/dir:x", CWD), {
    kind: "local",
    path: "/work/project/sub/dir:x",
  });
  assert.deepEqual(parseGitUrl("file:///srv/repo.git", CWD), {
    kind: "local",
    path: "/srv/repo.git",
  });
  assert.deepEqual(parseGitUrl("file://localhost/srv/r", CWD), { kind: "local", path: "/srv/r" });
  assert.equal(parseGitUrl("C:/repos/x", CWD).kind, "local");
  assert.equal(parseGitUrl("C:\\repos\\x", CWD).kind, "local");
});

Deno.test("parseGitUrl() reads http(s) URLs as URL objects", () => {
  const parsed = parseGitUrl("https://user:tok@git.example.com/r.git", CWD);
  assert.equal(parsed.kind, "http");
  if (parsed.kind === "http") assert.equal(parsed.url.hostname, "git.example.com");
});

Deno.test("parseGitUrl() rejects option-like hosts, users and paths before anything runs", () => {
  for (
    const url of [
      "ssh://-oProxyCommand=touch%20x/repo",
      "ssh://%2doProxyCommand=x/repo",
      "ssh://%2Du@host/repo",
      "-oProxyCommand=x:repo",
      "ssh://-x@host/repo",
      "-u@host:repo",
      "host:-repo",
      "ssh://host:99999/r",
      "ssh://host",
      "file://otherhost/r",
      "ftp://host/r",
      "",
    ]
  ) {
    assert.throws(() => parseGitUrl(url, CWD), InvalidArgumentError, url);
  }
});

Deno.test("parseGitUrl() says git:// is not supported", () => {
  assert.throws(
    () => parseGitUrl("git://example.com/r.git", CWD),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /git:\/\/ protocol .* not supported/.test(e.message),
  );
});
