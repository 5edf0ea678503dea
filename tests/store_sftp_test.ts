import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ConfigError, StoreError } from "../lib/errors/mod.ts";
import { isTransient, stopsQueue } from "../lib/store/errors.ts";
import { createSftpStore } from "../lib/store/sftp/mod.ts";
import { sftpChunks } from "../lib/store/sftp/sftp_download.ts";
import { sshLaunch } from "../lib/store/sftp/ssh_launch.ts";
import { parseSshRemote } from "../lib/store/sftp/ssh_remote.ts";
import { SftpSession } from "../lib/store/sftp/ssh_session.ts";
import type { Store } from "../lib/store/types.ts";
import { startSshd } from "./helpers/sshd.ts";
import { run, scratch } from "./helpers/tmp.ts";
import { type MediumFaults, storeSuite } from "./store_suite.ts";

const SFTP_SERVER = "/usr/lib/openssh/sftp-server";

/** Every file below `dir` (temp files included), relative. */
async function filesUnder(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((entry) => !entry.isDirectory())
      .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
      .sort();
  } catch {
    return [];
  }
}

/** An executable shell script at `path`. */
function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  chmodSync(path, 0o755);
  return path;
}

function md5(bytes: Uint8Array | string): string {
  return createHash("md5").update(bytes).digest("hex");
}

function keyOf(hash: string): string {
  return `files/md5/${hash.slice(0, 2)}/${hash.slice(2)}`;
}

/**
 * Mid-transfer faults for an SFTP store whose "ssh" program is `fake` (a
 * script that records each start in `starts`): the connection dies as ssh
 * is killed. The killed session's temp file stays on the server (nobody is
 * left to remove it); it is never taken for a key.
 */
function killedConnection(starts: string): MediumFaults {
  return {
    break() {
      for (const pid of readFileSync(starts, "utf8").split("\n").filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // an earlier session, already gone
        }
      }
    },
    repair: () => Promise.resolve(), // the store starts a new ssh on its next call
    error: { put: /ended unexpectedly/, get: /ended unexpectedly/ },
    mayLeaveTempFiles: true,
  };
}

storeSuite("sftp (loopback sshd)", async () => {
  const sshd = await startSshd();
  const { dir, cleanup } = await scratch("dxp-sftp-store-");
  const starts = join(dir, "starts");
  const ssh = script(join(dir, "ssh"), `echo $$ >> '${starts}'\nexec ${sshd.sshCommand} "$@"`);
  const env = { ...sshd.env, DXP_SSH_COMMAND: ssh };
  const url = sshd.url(join(dir, "store"));
  const store = createSftpStore(url, {}, { env });
  return {
    store,
    remote: { type: "ssh", url, options: {}, env },
    medium: killedConnection(starts),
    rawEntries: () => filesUnder(join(dir, "store")),
    async teardown() {
      await store.close();
      await sshd.stop();
      await cleanup();
    },
  };
}, { faults: "medium" });

// restic's trick: the "ssh command" is sftp-server itself, talking on its stdin/stdout.
storeSuite("sftp (sftp-server as the ssh command)", async () => {
  const { dir, cleanup } = await scratch("dxp-sftp-direct-");
  const starts = join(dir, "starts");
  const fake = script(join(dir, "fake-ssh"), `echo $$ >> '${starts}'\nexec ${SFTP_SERVER}`);
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DXP_SSH_COMMAND: fake };
  const url = `ssh://localhost${join(dir, "store")}`;
  const store = createSftpStore(url, {}, { env });
  return {
    store,
    remote: { type: "ssh", url, options: {}, env },
    medium: killedConnection(starts),
    rawEntries: () => filesUnder(join(dir, "store")),
    async teardown() {
      await store.close();
      await cleanup();
    },
  };
}, { faults: "medium" });

/** A store whose "ssh" is a script around sftp-server (or `exec` of `inner`), logging each start. */
async function directStore(
  inner = `exec ${SFTP_SERVER}`,
  options: Record<string, string> = {},
) {
  const { dir, cleanup } = await scratch("dxp-sftp-fault-");
  const starts = join(dir, "starts");
  const fake = script(join(dir, "fake-ssh"), `echo $$ >> ${starts}\n${inner}`);
  const root = join(dir, "store");
  const debug: string[] = [];
  const store = createSftpStore(`ssh://localhost${root}`, options, {
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", DXP_SSH_COMMAND: fake },
    onDebug: (line) => debug.push(line),
  });
  const pids = () =>
    existsSync(starts) ? readFileSync(starts, "utf8").split("\n").filter(Boolean).map(Number) : [];
  return {
    dir,
    root,
    store,
    pids,
    /** The store's debug lines so far. */
    debug,
    async cleanup() {
      await store.close();
      await cleanup();
    },
  };
}

/** Resolves once `lines` has a line matching `pattern` (something the code under test said). */
async function said(lines: readonly string[], pattern: RegExp): Promise<void> {
  while (!lines.some((line) => pattern.test(line))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("sftp store refuses hosts and users starting with '-' before running anything", async () => {
  const { dir, cleanup } = await scratch("dxp-sftp-dash-");
  try {
    const marker = join(dir, "ran");
    const fake = script(join(dir, "fake-ssh"), `touch ${marker}\nexec ${SFTP_SERVER}`);
    const context = { env: { DXP_SSH_COMMAND: fake } };
    assert.throws(
      () => createSftpStore(`ssh://-oProxyCommand=touch%20${marker}/store`, {}, context),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /host '-oProxyCommand=touch .*' .* starts with '-'/);
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
    assert.throws(
      () => createSftpStore("ssh://host/store", { user: "-oProxyCommand=x" }, context),
      ConfigError,
    );
    assert.throws(() => createSftpStore("ssh://-l@host/store", {}, context), ConfigError);
    assert.equal(existsSync(marker), false);
  } finally {
    await cleanup();
  }
});

Deno.test("sshLaunch() maps the remote options onto OpenSSH flags with '--' before the host", () => {
  const remote = parseSshRemote("ssh://urluser:secret@login.example:2200/scratch/store", {
    user: "alice",
    keyfile: "/home/alice/.ssh/id_hpc",
    timeout: "30",
    allow_agent: "false",
    gss_auth: "true",
  });
  assert.equal(remote.root, "/scratch/store");
  assert.equal(remote.password, "secret");
  assert.ok(!remote.displayUrl.includes("secret"));
  const launch = sshLaunch(remote, {}, "/tmp/askpass.sh");
  assert.equal(launch.program, "ssh");
  assert.deepEqual(launch.args, [
    "-p",
    "2200",
    "-l",
    "alice",
    "-i",
    "/home/alice/.ssh/id_hpc",
    "-o",
    "ConnectTimeout=30",
    "-o",
    "IdentityAgent=none",
    "-o",
    "GSSAPIAuthentication=yes",
    "-a",
    "-x",
    "-T",
    "-s",
    "--",
    "login.example",
    "sftp",
  ]);
  assert.equal(launch.env["SSH_ASKPASS_REQUIRE"], "force");
  assert.ok(!launch.shown.includes("secret"));
  const wrapped = sshLaunch(parseSshRemote("ssh://h/x", { port: "22" }), {
    DXP_SSH_COMMAND: "ssh -F /dev/null",
  });
  assert.deepEqual(wrapped.args.slice(0, 3), [
    "-c",
    'exec ssh -F /dev/null "$@"',
    "ssh -F /dev/null",
  ]);
  assert.throws(() => parseSshRemote("ssh://h/x", { port: "99999" }), ConfigError);
});

Deno.test("sftp store serves many concurrent transfers over one ssh process", async () => {
  const t = await directStore();
  try {
    const keys: string[] = [];
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const text = `object number ${i}\n`;
      const source = join(t.dir, `s${i}`);
      await writeFile(source, text);
      const key = keyOf(md5(text));
      keys.push(key);
      await t.store.put(key, source, { expect: { hash: md5(text), scheme: "md5" } });
    }));
    const listed: string[] = [];
    for await (const key of t.store.list("files/md5/")) listed.push(key);
    assert.deepEqual(listed.sort(), keys.sort());
    assert.equal(t.pids().length, 1);
    for (const key of keys) assert.equal(statSync(join(t.root, key)).mode & 0o7777, 0o444);
  } finally {
    await t.cleanup();
  }
});

Deno.test("sftp put() with ssh killed mid-transfer leaves nothing under the final name; a rerun completes", async () => {
  const t = await directStore();
  try {
    const size = 32 * 1024 * 1024;
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    const source = join(t.dir, "big");
    await writeFile(source, bytes);
    const hash = md5(bytes);
    const key = keyOf(hash);
    let moved = 0;
    let killed = false;
    const failure = await t.store.put(key, source, {
      expect: { hash, scheme: "md5" },
      onBytes: (n) => {
        moved += n;
        if (!killed && moved > 4 * 1024 * 1024) {
          killed = true;
          Deno.kill(t.pids()[0]!, "SIGKILL");
        }
      },
    }).then(() => undefined, (error: unknown) => error);
    assert.ok(killed, "the transfer finished before the kill");
    assert.ok(failure instanceof StoreError, String(failure));
    assert.ok(isTransient(failure), failure.message);
    assert.match(failure.message, /ended unexpectedly/);
    assert.equal(existsSync(join(t.root, key)), false);
    assert.equal(await t.store.exists(key), false);
    // The queue retries the same call: a new ssh process takes over.
    await t.store.put(key, source, { expect: { hash, scheme: "md5" } });
    assert.equal(t.pids().length, 2);
    assert.equal(md5(readFileSync(join(t.root, key))), hash);
    assert.equal((await stat(join(t.root, key))).mode & 0o7777, 0o444);
    const listed: string[] = [];
    for await (const k of t.store.list("")) listed.push(k);
    assert.deepEqual(listed, [key]); // the dead session's temp file is not a key
  } finally {
    await t.cleanup();
  }
});

Deno.test("sftp store reconnects after its ssh process died between calls", async () => {
  // A word on stderr makes the store log the exit it noticed: the event the test waits for.
  const t = await directStore(`echo "stand-in ssh up" >&2\nexec ${SFTP_SERVER}`);
  try {
    await writeFile(join(t.dir, "bar"), "bar");
    const key = keyOf(md5("bar"));
    await t.store.put(key, join(t.dir, "bar"), {});
    const [first] = t.pids();
    Deno.kill(first!, "SIGKILL");
    await said(t.debug, /^ssh: exited with SIGKILL; stderr: stand-in ssh up$/);
    assert.equal(await t.store.exists(key), true);
    assert.equal(t.pids().length, 2);
    assert.notEqual(t.pids()[1], first);
  } finally {
    await t.cleanup();
  }
});

Deno.test("sftp store names the server path on permission denied, permanently", async () => {
  // sftp-server as 'nobody': the root-owned folder is not writable for it.
  const t = await directStore(
    `exec setpriv --reuid=65534 --regid=65534 --clear-groups ${SFTP_SERVER}`,
  );
  try {
    await mkdir(t.root, { mode: 0o755 });
    chmodSync(t.dir, 0o755);
    chmodSync(t.root, 0o755);
    await writeFile(join(t.dir, "bar"), "bar");
    const key = keyOf(md5("bar"));
    await assert.rejects(t.store.put(key, join(t.dir, "bar"), {}), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(isTransient(error), false);
      assert.match(error.message, /permission denied \(EACCES\)/);
      assert.ok(error.message.includes(`${t.root}/files/md5/37`), error.message);
      return true;
    });
    assert.deepEqual(await filesUnder(t.root), []);
  } finally {
    chmodSync(t.dir, 0o700);
    await t.cleanup();
  }
});

/** A private mount in a user namespace: no root needed where the kernel allows user namespaces. */
const canMount =
  run("unshare", ["-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"]).code ===
    0;

Deno.test({
  name: "sftp put() into a full file system fails as no space, stopping the queue" +
    (canMount ? "" : " (ignored: this kernel refuses 'unshare -rm', a private mount)"),
  ignore: !canMount,
  fn: async () => {
    // A private 256 KiB tmpfs mounted over the store root, seen only by this sftp-server.
    const t = await directStore(
      `exec unshare -rm sh -c 'mount -t tmpfs -o size=256k tmpfs "$0" && exec ${SFTP_SERVER}' ` +
        `"$(dirname "$0")/store"`,
    );
    try {
      await mkdir(t.root);
      const bytes = new Uint8Array(1024 * 1024).fill(7);
      await writeFile(join(t.dir, "big"), bytes);
      await assert.rejects(
        t.store.put(keyOf(md5(bytes)), join(t.dir, "big"), { size: bytes.length }),
        (error: unknown) => {
          assert.ok(error instanceof StoreError, String(error));
          assert.match(error.message, /no space left on the device \(ENOSPC\)/);
          assert.equal(stopsQueue(error), true);
          return true;
        },
      );
    } finally {
      await t.cleanup();
    }
  },
});

Deno.test("sftp store fails permanently with ssh's own words on refused authentication, and starts ssh once", async () => {
  const sshd = await startSshd();
  const { dir, cleanup } = await scratch("dxp-sftp-auth-");
  let store: Store | undefined;
  try {
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, "stranger")]);
    const starts = join(dir, "starts");
    const wrongKey = sshd.sshCommand.replace(sshd.clientKey, join(dir, "stranger"));
    const fake = script(join(dir, "ssh"), `echo $$ >> ${starts}\nexec ${wrongKey} "$@"`);
    store = createSftpStore(sshd.url(join(dir, "store")), {}, {
      env: { ...sshd.env, DXP_SSH_COMMAND: fake },
    });
    const check = (error: unknown) => {
      assert.ok(error instanceof StoreError, String(error));
      assert.match(
        error.message,
        /^Authentication failed for '.*@127\.0\.0\.1:\d+' \(.*Permission denied \(publickey\)\)/,
      );
      assert.equal(isTransient(error), false);
      assert.equal(stopsQueue(error), true);
      return true;
    };
    await assert.rejects(store.exists(keyOf(md5("x"))), check);
    await assert.rejects(store.exists(keyOf(md5("y"))), check);
    assert.equal(readFileSync(starts, "utf8").split("\n").filter(Boolean).length, 1);

    const refused = createSftpStore(`ssh://127.0.0.1:1${dir}`, {}, { env: sshd.env });
    await assert.rejects(refused.exists(keyOf(md5("x"))), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.match(
        error.message,
        /Could not open an SFTP session to .*: ssh: connect to host 127\.0\.0\.1 port 1: Connection refused/,
      );
      assert.equal(isTransient(error), false);
      return true;
    });
    await refused.close();
  } finally {
    await store?.close();
    await sshd.stop();
    await cleanup();
  }
});

Deno.test("sftp store answers a key passphrase through SSH_ASKPASS and removes its helper", async () => {
  const sshd = await startSshd();
  const { dir, cleanup } = await scratch("dxp-sftp-askpass-");
  try {
    const key = join(dir, "locked");
    run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "s3cret pass", "-f", key]);
    appendFileSync(join(dirname(sshd.clientKey), "authorized_keys"), readFileSync(`${key}.pub`));
    // No BatchMode (it forbids prompts) and no default key: only the locked one can log in.
    const command = sshd.sshCommand.replace(/ -i \S+/, "").replace(" -o BatchMode=yes", "");
    const env = { ...sshd.env, DXP_SSH_COMMAND: command, SSH_AUTH_SOCK: undefined };
    const tmpBefore = new Set(await readdir("/tmp"));
    const store = createSftpStore(sshd.url(join(dir, "store")), {
      keyfile: key,
      passphrase: "s3cret pass",
      allow_agent: "false",
    }, { env });
    try {
      await writeFile(join(dir, "bar"), "bar");
      await store.put(keyOf(md5("bar")), join(dir, "bar"), {});
      assert.equal(readFileSync(join(dir, "store", keyOf(md5("bar"))), "utf8"), "bar");
      assert.ok(
        (await readdir("/tmp")).some((n) => n.startsWith("dxp-askpass-") && !tmpBefore.has(n)),
      );
    } finally {
      await store.close();
    }
    assert.ok(
      !(await readdir("/tmp")).some((n) => n.startsWith("dxp-askpass-") && !tmpBefore.has(n)),
    );

    const wrong = createSftpStore(sshd.url(join(dir, "store")), {
      keyfile: key,
      passphrase: "not it",
      allow_agent: "false",
    }, { env });
    await assert.rejects(wrong.exists(keyOf(md5("bar"))), /Authentication failed/);
    await wrong.close();
  } finally {
    await sshd.stop();
    await cleanup();
  }
});

Deno.test("sftpChunks() asks again for what a short READ answer left out", async () => {
  const { dir, cleanup } = await scratch("dxp-sftp-short-");
  const session = await SftpSession.open({
    launch: {
      program: SFTP_SERVER,
      args: [],
      env: {},
      command: SFTP_SERVER,
      source: "test",
      shown: "",
    },
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    remote: parseSshRemote(`ssh://localhost${dir}`, {}),
  });
  try {
    const size = 3 * 1024 * 1024 + 5;
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) {
      crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
    }
    await writeFile(join(dir, "blob"), bytes);
    // sftp-server answers at most ~255 KiB per READ: 1 MiB requests all come back short.
    let reads = 0;
    const counting = new Proxy(session.client, {
      get(target, name) {
        const value = Reflect.get(target, name, target);
        if (name !== "read") return typeof value === "function" ? value.bind(target) : value;
        return (...args: Parameters<typeof target.read>) => {
          reads++;
          return target.read(...args);
        };
      },
    });
    const parts: Uint8Array[] = [];
    for await (
      const chunk of sftpChunks(counting, {
        path: join(dir, "blob"),
        chunkSize: 1024 * 1024,
        window: 4,
        label: "'blob'",
      })
    ) parts.push(chunk.slice());
    const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      at += part.length;
    }
    assert.equal(md5(joined), md5(bytes));
    assert.ok(reads > 4, `only ${reads} READ requests for 4 short answers`);
  } finally {
    await session.close();
    await cleanup();
  }
});
