import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors/mod.ts";
import {
  resolveSshCommand,
  shellQuote,
  splitCommandLine,
  sshArguments,
} from "../lib/git/transport/ssh_command.ts";
import { lastStderrLine } from "../lib/git/transport/ssh_errors.ts";
import type { TransportOptions } from "../lib/git/transport/types.ts";

function opts(env: Record<string, string>, config: Record<string, string> = {}): TransportOptions {
  return { env, cwd: "/", gitConfig: (key) => config[key] };
}

Deno.test("resolveSshCommand() prefers DXP_SSH_COMMAND, GIT_SSH_COMMAND, GIT_SSH, core.sshCommand, ssh", () => {
  const all = { DXP_SSH_COMMAND: "ssh -v", GIT_SSH_COMMAND: "ssh -q", GIT_SSH: "/usr/bin/plink" };
  assert.equal(resolveSshCommand(opts(all, { "core.sshCommand": "x" })).command, "ssh -v");
  const { DXP_SSH_COMMAND: _d, ...noDxp } = all;
  assert.deepEqual(resolveSshCommand(opts(noDxp)), {
    command: "ssh -q",
    shell: true,
    variant: "ssh",
    source: "GIT_SSH_COMMAND",
  });
  assert.deepEqual(resolveSshCommand(opts({ GIT_SSH: "/usr/bin/plink" })), {
    command: "/usr/bin/plink",
    shell: false,
    variant: "plink",
    source: "GIT_SSH",
  });
  assert.equal(
    resolveSshCommand(opts({}, { "core.sshCommand": "/opt/ssh -F cfg" })).source,
    "core.sshCommand",
  );
  assert.deepEqual(resolveSshCommand(opts({})), {
    command: "ssh",
    shell: false,
    variant: "ssh",
    source: "default",
  });
});

Deno.test("resolveSshCommand() treats unknown programs as the simple variant unless told otherwise", () => {
  assert.equal(resolveSshCommand(opts({ GIT_SSH_COMMAND: "my-wrapper --x" })).variant, "simple");
  assert.equal(
    resolveSshCommand(opts({ GIT_SSH_COMMAND: "'/opt/my ssh/ssh' -i k" })).variant,
    "ssh",
  );
  assert.equal(resolveSshCommand(opts({ GIT_SSH: "wrap", GIT_SSH_VARIANT: "ssh" })).variant, "ssh");
  assert.equal(
    resolveSshCommand(opts({ GIT_SSH: "wrap" }, { "ssh.variant": "putty" })).variant,
    "putty",
  );
  assert.throws(() => resolveSshCommand(opts({ GIT_SSH_VARIANT: "weird" })), InvalidArgumentError);
});

Deno.test("sshArguments() adds SendEnv, -p and -- only for OpenSSH", () => {
  const ssh = { command: "ssh", shell: false, variant: "ssh" as const, source: "default" };
  assert.deepEqual(
    sshArguments(ssh, { user: "git", host: "h", port: 2222 }, "git-upload-pack '/r'", true),
    [
      "-o",
      "SendEnv=GIT_PROTOCOL",
      "-p",
      "2222",
      "--",
      "git@h",
      "git-upload-pack '/r'",
    ],
  );
  assert.deepEqual(sshArguments(ssh, { host: "h" }, "cmd", false), ["--", "h", "cmd"]);
  const simple = { ...ssh, variant: "simple" as const };
  assert.deepEqual(sshArguments(simple, { host: "h" }, "cmd", true), ["h", "cmd"]);
  assert.throws(
    () => sshArguments(simple, { host: "h", port: 2 }, "cmd", true),
    InvalidArgumentError,
  );
  const plink = { ...ssh, variant: "plink" as const };
  assert.deepEqual(sshArguments(plink, { host: "h", port: 2 }, "cmd", true), [
    "-P",
    "2",
    "h",
    "cmd",
  ]);
  const tortoise = { ...ssh, variant: "tortoiseplink" as const };
  assert.deepEqual(sshArguments(tortoise, { host: "h" }, "cmd", true), ["-batch", "h", "cmd"]);
});

Deno.test("splitCommandLine() and shellQuote() follow git's quoting", () => {
  assert.deepEqual(splitCommandLine(`ssh -i "/a b/key" -o 'X=1 2' plain\\ word`), [
    "ssh",
    "-i",
    "/a b/key",
    "-o",
    "X=1 2",
    "plain word",
  ]);
  assert.equal(splitCommandLine(`ssh "unterminated`), null);
  assert.equal(shellQuote("/srv/it's here!"), `'/srv/it'\\''s here'\\!''`);
});

Deno.test("lastStderrLine() skips ssh noise and git's fatal prefix", () => {
  const stderr =
    "Warning: Permanently added '[127.0.0.1]:22' (ED25519) to the list of known hosts.\n" +
    "fatal: '/x' does not appear to be a git repository\n\n";
  assert.equal(lastStderrLine(stderr), "'/x' does not appear to be a git repository");
  assert.equal(lastStderrLine(""), undefined);
});
