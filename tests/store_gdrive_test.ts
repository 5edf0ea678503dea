/**
 * The Google Drive store against a contract server written from the Drive
 * API v2 reference (tests/helpers/gdrive_contract_server.ts): the shared
 * store suite, PyDrive2's folder layout both ways (including duplicate
 * folder titles), shared drives, rate limits, resumable uploads resumed,
 * acknowledge_abuse, trash_only, and DVC's cached user credentials.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AuthError, ConfigError, StoreError } from "../lib/errors/mod.ts";
import { openGDriveStore, parseGDriveRemote } from "../lib/store/gdrive/mod.ts";
import {
  type GDriveContractServer,
  startGDriveContractServer,
} from "./helpers/gdrive_contract_server.ts";
import { scratch } from "./helpers/tmp.ts";
import { storeSuite } from "./store_suite.ts";

const MIB = 1024 * 1024;
const FAST = { rateLimitBaseMs: 1, chunkRetryBaseMs: 1 };

/** A server, a service account allowed on it (key in `dir`), and the env pointing at it. */
async function setup(dir: string) {
  const server = await startGDriveContractServer();
  const { file } = server.oauth.addServiceAccount("drive-sa@dxp-test.iam.gserviceaccount.com");
  const keyPath = join(dir, "sa.json");
  writeFileSync(keyPath, JSON.stringify(file));
  const saOptions = {
    gdrive_use_service_account: "true",
    gdrive_service_account_json_file_path: keyPath,
  };
  return { server, keyPath, keyFile: file, saOptions, env: { DXP_GDRIVE_API_URL: server.url } };
}

storeSuite("gdrive/contract", async () => {
  const local = await scratch("dxp-gdrive-suite-");
  const { server, saOptions, env } = await setup(local.dir);
  const folder = server.addFolder("root", "dvc remote");
  const url = `gdrive://${folder}`;
  return {
    store: openGDriveStore(url, saOptions, { env }, FAST),
    inject: server,
    remote: { type: "gdrive", url, options: saOptions, env },
    rawEntries: () => Promise.resolve(server.files(folder)),
    teardown: async () => {
      await server.stop();
      await local.cleanup();
    },
  };
}, { faults: "requests", rssInProcess: false, sanitize: false });

function driveTest(
  name: string,
  fn: (env: {
    server: GDriveContractServer;
    dir: string;
    keyPath: string;
    saOptions: Record<string, string>;
    env: Record<string, string>;
  }) => Promise<void>,
) {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const local = await scratch("dxp-gdrive-");
      const { server, keyPath, saOptions, env } = await setup(local.dir);
      try {
        await fn({ server, dir: local.dir, keyPath, saOptions, env });
      } finally {
        await server.stop();
        await local.cleanup();
      }
    },
  });
}

function md5(bytes: Uint8Array | string): string {
  return createHash("md5").update(bytes).digest("hex");
}

driveTest(
  "objects go where PyDrive2 puts them: one folder per path component, the file titled with the rest",
  async ({ server, dir, saOptions, env }) => {
    server.addFolder("root", "dvcstore");
    const store = openGDriveStore("gdrive://root/dvcstore", saOptions, { env }, FAST);
    const keys: string[] = [];
    for (const text of ["a", "b", "c", "d"]) {
      const path = join(dir, text);
      writeFileSync(path, text);
      const key = `files/md5/${md5(text).slice(0, 2)}/${md5(text).slice(2)}`;
      await store.put(key, path, { expect: { hash: md5(text), scheme: "md5" } });
      keys.push(key);
    }
    writeFileSync(join(dir, "m"), "[]");
    await store.put(
      `files/md5/${md5("[]").slice(0, 2)}/${md5("[]").slice(2)}.dir`,
      join(dir, "m"),
      {},
    );
    const files = server.files("root");
    assert.deepEqual(
      files,
      [...keys, `files/md5/${md5("[]").slice(0, 2)}/${md5("[]").slice(2)}.dir`].map((k) =>
        `dvcstore/${k}`
      ).sort(),
    );
    // one folder per component, never two
    for (const [path, count] of server.folders("root")) assert.equal(count, 1, path);
    // the file titles are the 30-char oid tails, folders the 2-char prefixes
    const object = [...server.items.values()].find((i) => i.title === md5("a").slice(2))!;
    assert.equal(server.items.get(object.parents[0]!)!.title, md5("a").slice(0, 2));
    assert.equal(object.md5, md5("a"));
    assert.deepEqual(
      (await collect(store.list("files/md5/"))).sort(),
      [...keys, `files/md5/${md5("[]").slice(0, 2)}/${md5("[]").slice(2)}.dir`].sort(),
    );
  },
);

driveTest(
  "a remote DVC wrote with duplicate folder titles: objects under every copy are found; new folders go under the smallest id",
  async ({ server, dir, saOptions, env }) => {
    const store0 = server.addFolder("root", "store");
    // Two machines' first pushes raced: two `files` folders, each with part of the objects.
    const filesA = server.addFolder(store0, "files");
    const filesB = server.addFolder(store0, "files");
    const [low, high] = [filesA, filesB].sort();
    const put = (files: string, text: string) => {
      const md5Dir = server.addFolder(files, "md5");
      const prefix = server.addFolder(md5Dir, md5(text).slice(0, 2));
      server.addFile(prefix, md5(text).slice(2), new TextEncoder().encode(text));
      return `files/md5/${md5(text).slice(0, 2)}/${md5(text).slice(2)}`;
    };
    const inLow = put(low!, "under the first");
    const inHigh = put(high!, "under the second");
    const store = openGDriveStore("gdrive://root/store", saOptions, { env }, FAST);
    assert.equal(await store.exists(inLow), true);
    assert.equal(await store.exists(inHigh), true);
    assert.deepEqual((await collect(store.list("files/"))).sort(), [inLow, inHigh].sort());
    await store.get(inHigh, join(dir, "got"), {
      expect: { hash: md5("under the second"), scheme: "md5" },
    });
    assert.equal(readFileSync(join(dir, "got"), "utf8"), "under the second");
    // A new object: its folders are created once, under the smallest `files` id.
    writeFileSync(join(dir, "new"), "new object");
    const key = `files/md5/${md5("new object").slice(0, 2)}/${md5("new object").slice(2)}`;
    await store.put(key, join(dir, "new"), {});
    const created = [...server.items.values()].find((i) => i.title === md5("new object").slice(2))!;
    const prefixFolder = server.items.get(created.parents[0]!)!;
    const md5Folder = server.items.get(prefixFolder.parents[0]!)!;
    assert.equal(md5Folder.title, "md5");
    // the md5 folder it used already existed in one of the copies (Drive ORs over both)
    assert.ok([low, high].includes(md5Folder.parents[0]!));
    assert.equal(server.folders(store0).get("files"), 2, "no third `files` folder");
    // An object under a path where neither copy has the folder yet goes under the smallest id.
    writeFileSync(join(dir, "run"), "run cache");
    await store.put("runs/ab/cd", join(dir, "run"), {});
    const runs = [...server.items.values()].find((i) => i.title === "runs")!;
    assert.equal(runs.parents[0], store0);
    assert.equal(await store.exists("runs/ab/cd"), true);
  },
);

driveTest(
  "a base folder that does not exist is one clear error; folders below it are created",
  async ({ server, dir, saOptions, env }) => {
    const store = openGDriveStore("gdrive://root/missing/store", saOptions, { env }, FAST);
    writeFileSync(join(dir, "f"), "x");
    for (
      const attempt of [
        () => store.exists("a/b"),
        () => store.put("a/b", join(dir, "f"), {}),
        () => collect(store.list("")),
      ]
    ) {
      await assert.rejects(attempt(), (e) => {
        assert.ok(e instanceof StoreError && !e.transient, String(e));
        assert.match(
          e.message,
          /^Confirm 'gdrive:\/\/root\/missing\/store' exists and you can access it/,
        );
        return true;
      });
    }
    assert.deepEqual(server.files("root"), []);
    const unknown = openGDriveStore("gdrive://1NoSuchFolderId", saOptions, { env }, FAST);
    await assert.rejects(unknown.exists("a/b"), /Confirm 'gdrive:\/\/1NoSuchFolderId' exists/);
  },
);

driveTest(
  "a shared drive is listed with corpora=drive and its driveId",
  async ({ server, dir, saOptions, env }) => {
    const drive = server.addSharedDrive("Team data");
    const folder = server.addFolder(drive, "dvc");
    const store = openGDriveStore(`gdrive://${folder}`, saOptions, { env }, FAST);
    writeFileSync(join(dir, "f"), "shared");
    await store.put("files/md5/aa/bb", join(dir, "f"), {});
    assert.deepEqual(await collect(store.list("")), ["files/md5/aa/bb"]);
    assert.deepEqual(server.files(drive), ["dvc/files/md5/aa/bb"]);
    const lists = server.requests.filter((r) =>
      r.method === "GET" && r.url.startsWith("/drive/v2/files?")
    );
    assert.ok(lists.length > 0);
    for (const request of lists) {
      const query = new URL(request.url, "http://x").searchParams;
      assert.equal(query.get("corpora"), "drive");
      assert.equal(query.get("driveId"), drive);
      assert.equal(query.get("supportsAllDrives"), "true");
    }
    assert.equal([...server.items.values()].find((i) => i.title === "bb")!.driveId, drive);
  },
);

driveTest(
  "gdrive://appDataFolder and gdrive://root/<path> address the aliases",
  async ({ server, dir, saOptions, env }) => {
    writeFileSync(join(dir, "f"), "hidden");
    const app = openGDriveStore("gdrive://appDataFolder", saOptions, { env }, FAST);
    await app.put("files/md5/aa/bb", join(dir, "f"), {});
    assert.deepEqual(server.files("appDataFolder"), ["files/md5/aa/bb"]);
    assert.equal(await app.exists("files/md5/aa/bb"), true);
    server.addFolder("root", "x");
    const mine = openGDriveStore("gdrive://root/x//", saOptions, { env }, FAST);
    await mine.put("k", join(dir, "f"), {});
    assert.deepEqual(server.files("root"), ["x/k"]);
  },
);

driveTest(
  "Drive's rate limits (403 userRateLimitExceeded/rateLimitExceeded, 429) are waited out; then transient",
  async ({ server, dir, saOptions, env }) => {
    const folder = server.addFolder("root", "s");
    const store = openGDriveStore(`gdrive://${folder}`, saOptions, { env }, {
      ...FAST,
      rateLimitTries: 4,
    });
    writeFileSync(join(dir, "f"), "limited");
    assert.equal(await store.exists("k"), false);
    server.failNext({ status: 403, reason: "userRateLimitExceeded" });
    server.failNext({ status: 403, reason: "rateLimitExceeded" });
    server.failNext({ status: 429, reason: "rateLimitExceeded", retryAfter: "0" });
    await store.put("k", join(dir, "f"), {});
    assert.deepEqual(server.files(folder), ["k"]);
    server.failNext({ status: 403, reason: "userRateLimitExceeded" }, 4);
    await assert.rejects(store.exists("k"), (e) => {
      assert.ok(e instanceof StoreError && e.transient, String(e));
      assert.match(e.message, /HTTP 403 userRateLimitExceeded; retry later/);
      return true;
    });
    server.failNext({ status: 403, reason: "insufficientFilePermissions" });
    await assert.rejects(store.exists("k"), AuthError);
    server.failNext({
      status: 403,
      reason: "insufficientFilePermissions",
      location: "file.permissions",
    });
    await assert.rejects(store.delete("k"), /Content Manager role/);
  },
);

driveTest(
  "a resumable upload cut mid-chunk resumes in the same session",
  async ({ server, dir, saOptions, env }) => {
    const folder = server.addFolder("root", "s");
    const store = openGDriveStore(`gdrive://${folder}`, saOptions, { env }, {
      ...FAST,
      chunkSize: 2 * MIB,
    });
    const bytes = new Uint8Array(5 * MIB + 7);
    crypto.getRandomValues(bytes.subarray(0, 65536));
    writeFileSync(join(dir, "big"), bytes);
    const cut = `bytes ${2 * MIB}-${4 * MIB - 1}/${bytes.length}`;
    server.failMatching(
      (m, url, headers) =>
        m === "PUT" && url.includes("upload_id") && headers["content-range"] === cut,
      {
        dropAfter: Math.round(1.5 * MIB),
      },
      20,
    );
    let reported = 0;
    await store.put("big", join(dir, "big"), {
      expect: { hash: md5(bytes), scheme: "md5" },
      onBytes: (n) => reported += n,
    });
    assert.equal(reported, bytes.length);
    const ranges = server.requests.filter((r) => r.url.includes("upload_id")).map((r) =>
      r.headers["content-range"]
    );
    assert.deepEqual(
      ranges.filter((r) => r !== cut),
      [
        `bytes 0-${2 * MIB - 1}/${bytes.length}`,
        `bytes */${bytes.length}`,
        `bytes ${3.5 * MIB}-${5.5 * MIB - 1}/${bytes.length}`.replace(
          `${5.5 * MIB - 1}`,
          `${bytes.length - 1}`,
        ),
      ],
    );
    assert.equal(
      server.requests.filter((r) =>
        r.url.startsWith("/upload/drive/v2/files?uploadType=resumable&supportsAllDrives")
      ).length,
      1,
      "one session",
    );
    assert.equal([...server.items.values()].find((i) => i.title === "big")!.md5, md5(bytes));
    assert.equal(server.openSessions(), 0);
  },
);

driveTest(
  "gdrive_acknowledge_abuse lets a flagged file download; gdrive_trash_only trashes instead of deleting",
  async ({ server, dir, saOptions, env }) => {
    const folder = server.addFolder("root", "s");
    const id = server.addFile(folder, "flagged", new TextEncoder().encode("looks bad"));
    server.items.get(id)!.abusive = true;
    const plain = openGDriveStore(`gdrive://${folder}`, saOptions, { env }, FAST);
    await assert.rejects(plain.get("flagged", join(dir, "a"), {}), (e) => {
      assert.ok(e instanceof StoreError && !e.transient, String(e));
      assert.match(e.message, /malware or spam .*set gdrive_acknowledge_abuse to true/);
      return true;
    });
    const brave = openGDriveStore(
      `gdrive://${folder}`,
      { ...saOptions, gdrive_acknowledge_abuse: "true" },
      { env },
      FAST,
    );
    await brave.get("flagged", join(dir, "b"), {});
    assert.equal(readFileSync(join(dir, "b"), "utf8"), "looks bad");

    const trashing = openGDriveStore(
      `gdrive://${folder}`,
      { ...saOptions, gdrive_trash_only: "true" },
      { env },
      FAST,
    );
    await trashing.delete("flagged");
    assert.equal(server.items.get(id)!.trashed, true, "moved to the trash, not deleted");
    assert.equal(await trashing.exists("flagged"), false);
    const other = server.addFile(folder, "gone", new TextEncoder().encode("x"));
    await plain.delete("gone");
    assert.equal(server.items.has(other), false, "deleted for good by default (DVC's default)");
  },
);

driveTest(
  "put() over a key holding other bytes replaces them; over the same bytes uploads nothing",
  async ({ server, dir, saOptions, env }) => {
    const folder = server.addFolder("root", "s");
    server.addFile(folder, "k", new TextEncoder().encode("stale copy"));
    const store = openGDriveStore(`gdrive://${folder}`, saOptions, { env }, FAST);
    writeFileSync(join(dir, "f"), "good copy");
    await store.put("k", join(dir, "f"), { expect: { hash: md5("good copy"), scheme: "md5" } });
    const copies = [...server.items.values()].filter((i) => i.title === "k");
    assert.deepEqual(copies.map((i) => new TextDecoder().decode(i.bytes)), ["good copy"]);
    const before = server.requests.length;
    await store.put("k", join(dir, "f"), {});
    assert.equal(
      server.requests.slice(before).filter((r) => r.url.startsWith("/upload/")).length,
      0,
    );
  },
);

driveTest(
  "a service account with gdrive_service_account_user_email asks for a token acting for that user",
  async ({ server, dir, saOptions, env }) => {
    const folder = server.addFolder("root", "s");
    const store = openGDriveStore(
      `gdrive://${folder}`,
      { ...saOptions, gdrive_service_account_user_email: "boss@example.com" },
      { env },
      FAST,
    );
    writeFileSync(join(dir, "f"), "x");
    await store.put("k", join(dir, "f"), {});
    const tokens = [...server.oauth.tokens.values()];
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]!.subject, "boss@example.com");
    assert.equal(
      tokens[0]!.scope,
      "https://www.googleapis.com/auth/drive https://www.googleapis.com/auth/drive.appdata",
    );
    // The key's JSON from GDRIVE_CREDENTIALS_DATA (no key file).
    const fromEnv = openGDriveStore(`gdrive://${folder}`, { gdrive_use_service_account: "true" }, {
      env: {
        ...env,
        GDRIVE_CREDENTIALS_DATA: readFileSync(
          saOptions["gdrive_service_account_json_file_path"]!,
          "utf8",
        ),
      },
    }, FAST);
    assert.equal(await fromEnv.exists("k"), true);
  },
);

/** A cached user-credentials file as DVC (oauth2client) writes it. */
function dvcCredentials(
  server: GDriveContractServer,
  clientId: string,
  clientSecret: string,
  accessToken: string | null,
  expiry: string | null,
) {
  return {
    access_token: accessToken,
    client_id: clientId,
    client_secret: clientSecret,
    refresh_token: server.oauth.addRefreshToken(clientId, "me@example.com"),
    token_expiry: expiry,
    token_uri: server.oauth.tokenUri,
    user_agent: null,
    revoke_uri: "https://oauth2.googleapis.com/revoke",
    id_token: null,
    id_token_jwt: null,
    token_response: {
      access_token: accessToken,
      expires_in: 3599,
      scope: "https://www.googleapis.com/auth/drive.appdata https://www.googleapis.com/auth/drive",
      token_type: "Bearer",
    },
    scopes: [
      "https://www.googleapis.com/auth/drive.appdata",
      "https://www.googleapis.com/auth/drive",
    ],
    token_info_uri: "https://oauth2.googleapis.com/tokeninfo",
    invalid: false,
    _class: "OAuth2Credentials",
    _module: "oauth2client.client",
  };
}

driveTest(
  "DVC's cached user credentials: found at PyDrive2's path, refreshed with their own client, written back in the same format",
  async ({ server, dir, env }) => {
    const folder = server.addFolder("root", "s");
    server.oauth.addClient("laptop-client", "laptop-secret");
    // The file DVC wrote on a laptop for its own client, copied to this machine's cache path.
    const cacheDir = join(dir, "cache", "pydrive2fs", "my-client.apps.googleusercontent.com");
    mkdirSync(cacheDir, { recursive: true });
    const path = join(cacheDir, "default.json");
    const expired = dvcCredentials(
      server,
      "laptop-client",
      "laptop-secret",
      "ya29.old",
      "2020-01-01T00:00:00Z",
    );
    writeFileSync(path, JSON.stringify(expired));
    const options = {
      gdrive_client_id: "my-client.apps.googleusercontent.com",
      gdrive_client_secret: "remote-secret",
    };
    const userEnv = { ...env, XDG_CACHE_HOME: join(dir, "cache") };
    const store = openGDriveStore(`gdrive://${folder}`, options, { env: userEnv }, FAST);
    writeFileSync(join(dir, "f"), "mine");
    await store.put("k", join(dir, "f"), {});
    await store.put("k2", join(dir, "f"), {});
    assert.deepEqual(server.oauth.tokenRequests.map((r) => [r.grant, r.form["client_id"]]), [[
      "refresh_token",
      "laptop-client",
    ]], "one refresh, with the file's client");
    const saved = JSON.parse(readFileSync(path, "utf8"));
    assert.deepEqual(
      Object.keys(saved).sort(),
      Object.keys(expired).sort(),
      "every key oauth2client reads",
    );
    assert.match(saved.token_expiry, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(Date.parse(saved.token_expiry) > Date.now() + 50 * 60_000);
    assert.notEqual(saved.access_token, "ya29.old");
    assert.equal(saved.refresh_token, expired.refresh_token);
    assert.equal(saved.client_id, "laptop-client");
    assert.equal(saved._module, "oauth2client.client");
    assert.equal(statSync(path).mode & 0o777, 0o600);

    // A second command: the saved token is still valid, so no token request at all.
    const again = openGDriveStore(`gdrive://${folder}`, options, { env: userEnv }, FAST);
    assert.equal(await again.exists("k"), true);
    assert.equal(server.oauth.tokenRequests.length, 1);

    // The server revokes it in the middle: exactly one refresh for many requests.
    server.oauth.revokeAll();
    const third = openGDriveStore(`gdrive://${folder}`, options, { env: userEnv }, FAST);
    const found = await Promise.all(["k", "k2", "x", "y", "z"].map((k) => third.exists(k)));
    assert.deepEqual(found, [true, true, false, false, false]);
    assert.equal(server.oauth.tokenRequests.length, 2);
  },
);

driveTest(
  "GDRIVE_CREDENTIALS_DATA is used in memory; gdrive_user_credentials_file and profile pick the file",
  async ({ server, dir, env }) => {
    const folder = server.addFolder("root", "s");
    server.oauth.addClient("c", "s");
    const data = JSON.stringify(dvcCredentials(server, "c", "s", null, null));
    const store = openGDriveStore(`gdrive://${folder}`, {}, {
      env: { ...env, GDRIVE_CREDENTIALS_DATA: data, XDG_CACHE_HOME: join(dir, "cache") },
    }, FAST);
    assert.equal(await store.exists("k"), false);
    assert.equal(server.oauth.tokenRequests.length, 1);
    assert.throws(
      () => statSync(join(dir, "cache")),
      "nothing written for GDRIVE_CREDENTIALS_DATA",
    );

    writeFileSync(join(dir, "creds.json"), data);
    const explicit = openGDriveStore(
      `gdrive://${folder}`,
      { gdrive_user_credentials_file: join(dir, "creds.json") },
      { env },
      FAST,
    );
    assert.equal(await explicit.exists("k"), false);
    assert.notEqual(JSON.parse(readFileSync(join(dir, "creds.json"), "utf8")).access_token, null);

    const none = openGDriveStore(`gdrive://${folder}`, { profile: "work" }, {
      env: { ...env, XDG_CACHE_HOME: join(dir, "cache") },
    }, FAST);
    await assert.rejects(none.exists("k"), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.ok(
        e.message.includes(
          join(
            dir,
            "cache",
            "pydrive2fs",
            "710796635688-iivsgbgsb6uv1fap6635dhvuei09o66c.apps.googleusercontent.com",
            "work.json",
          ),
        ),
        e.message,
      );
      assert.match(e.message, /dxp remote login/);
      return true;
    });
    // A refresh token Google no longer accepts: one AuthError; the file is marked invalid, as DVC does.
    const revoked = JSON.parse(data);
    revoked.refresh_token = "1//revoked";
    writeFileSync(join(dir, "revoked.json"), JSON.stringify(revoked));
    const stale = openGDriveStore(
      `gdrive://${folder}`,
      { gdrive_user_credentials_file: join(dir, "revoked.json") },
      { env },
      FAST,
    );
    await assert.rejects(stale.exists("k"), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.match(e.message, /invalid_grant: Token has been expired or revoked.*dxp remote login/);
      assert.ok(!e.message.includes("1//revoked"));
      return true;
    });
    assert.equal(JSON.parse(readFileSync(join(dir, "revoked.json"), "utf8")).invalid, true);
  },
);

Deno.test("GDrive options: URL forms, DVC's client by default, PyDrive2's credentials path", () => {
  const env = { HOME: "/home/u", XDG_CACHE_HOME: "/xdg" };
  const a = parseGDriveRemote("gdrive://root/dvc//store/", {}, env);
  assert.deepEqual([a.root, a.base, a.displayUrl], [
    "root",
    "dvc/store",
    "gdrive://root/dvc/store",
  ]);
  const b = parseGDriveRemote("gdrive://1AbC_dEf-123", {}, env);
  assert.deepEqual([b.root, b.base], ["1AbC_dEf-123", ""]);
  assert.equal(b.apiUrl, "https://www.googleapis.com");
  assert.deepEqual(b.auth, {
    kind: "user",
    clientId: "710796635688-iivsgbgsb6uv1fap6635dhvuei09o66c.apps.googleusercontent.com",
    clientSecret: "a1Fz59uTpVNeG_VGuSKDLJXv",
    credentials: {
      kind: "file",
      path:
        "/xdg/pydrive2fs/710796635688-iivsgbgsb6uv1fap6635dhvuei09o66c.apps.googleusercontent.com/default.json",
      explicit: false,
    },
  });
  const c = parseGDriveRemote("gdrive://appDataFolder", {
    gdrive_client_id: "id",
    gdrive_client_secret: "sec",
    profile: "p",
  }, { HOME: "/home/u" });
  assert.equal(
    (c.auth as { credentials: { path: string } }).credentials.path,
    "/home/u/.cache/pydrive2fs/id/p.json",
  );
  assert.throws(() => parseGDriveRemote("gdrive://", {}, env), /Empty GDrive URL/);
  assert.throws(() => parseGDriveRemote("gdrive://x", { gdrive_client_id: "" }, env), ConfigError);
  assert.throws(
    () => parseGDriveRemote("gdrive://x", { gdrive_use_service_account: "true" }, env),
    /gdrive_service_account_json_file_path, or GDRIVE_CREDENTIALS_DATA/,
  );
  assert.throws(
    () => parseGDriveRemote("gdrive://x", { gdrive_trash_only: "maybe" }, env),
    ConfigError,
  );
  assert.equal(
    parseGDriveRemote("gdrive://x", {}, { ...env, DXP_GDRIVE_API_URL: "http://h:1/" }).apiUrl,
    "http://h:1",
  );
});

async function collect(keys: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const key of keys) out.push(key);
  return out;
}
