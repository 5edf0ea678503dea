/**
 * dist/dxp against the cloud remotes: Azure Blob (Azurite, the real
 * emulator), Google Cloud Storage and Google Drive (contract servers written
 * from the documented APIs). For each: exp push writes DVC's object names,
 * exp pull in a fresh clone gets them back byte-identical, each auth form
 * works, refused credentials are one line without a stack trace or a secret.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FixtureCopy, fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import {
  type Azurite,
  AZURITE_ACCOUNT,
  AZURITE_KEY,
  sharedAzurite,
  startAzurite,
  testPki,
} from "./helpers/azurite.ts";
import { b64urlJson, startTokenServer } from "./helpers/oauth_token_server.ts";
import { startGcsContractServer } from "./helpers/gcs_contract_server.ts";
import { startGDriveContractServer } from "./helpers/gdrive_contract_server.ts";
import { DXP_BIN, goldenEnv, runAsync, type RunResult, scratch } from "./helpers/tmp.ts";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { generateSample } from "../scripts/sample/generate.ts";

/**
 * dist/dxp without blocking the event loop (the contract servers live in this
 * process). With `onStderr`, stdin is a pipe and the callback sees stderr as it
 * grows (an interactive login).
 */
function dxp(
  args: string[],
  options: {
    cwd: string;
    env: Record<string, string | undefined>;
    onStderr?: (text: string, stdin: { write(line: string): void }) => void;
  },
): Promise<RunResult> {
  const { onStderr } = options;
  if (onStderr === undefined) return runAsync(DXP_BIN, args, options);
  return new Promise((resolve, reject) => {
    const child = spawn(DXP_BIN, args, { cwd: options.cwd, env: options.env });
    let stdout = "";
    let stderr = "";
    const stdin = { write: (line: string) => void child.stdin.write(line) };
    child.stdout.setEncoding("utf8").on("data", (d: string) => stdout += d);
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      onStderr(stderr, stdin);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

/** The object list of a golden `objects-*.txt` (plain lines after the comments). */
function goldenObjects(name: string): string[] {
  const path = new URL(`./fixtures/golden/basic/${name}.txt`, import.meta.url).pathname;
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    .sort();
}

/** `.dvc/config.local` with remote `store` at `url` and the given options. */
function remoteConfig(url: string, options: Record<string, string> = {}): string {
  return `['remote "store"']\n    url = ${url}\n` +
    Object.entries(options).map(([k, v]) => `    ${k} = ${v}\n`).join("");
}

/** The local cache of `repo` equals the golden object list and the source repo's bytes. */
function assertCacheMatches(fx: FixtureCopy, clone: string, golden: string) {
  const cache = listFiles(join(clone, ".dvc", "cache"), true);
  assert.deepEqual(cache.map((l) => l.split(" ")[1]), goldenObjects(golden));
  for (const line of cache) {
    const [mode, rel] = line.split(" ");
    assert.equal(mode, "444", rel);
    assert.deepEqual(
      readFileSync(join(clone, ".dvc", "cache", rel!)),
      readFileSync(join(fx.repo, ".dvc", "cache", rel!)),
      rel,
    );
  }
}

/** One line `ERROR: …`, no stack trace, none of `secrets`. */
function assertOneLineError(result: RunResult, secrets: string[]) {
  assert.notEqual(result.code, 0, result.stdout);
  assert.match(result.stderr, /^ERROR: .+/m, result.stderr);
  assert.equal(result.stderr.includes("    at "), false, `no stack trace:\n${result.stderr}`);
  for (const secret of secrets) {
    assert.equal(result.stderr.includes(secret), false, `secret in stderr:\n${result.stderr}`);
    assert.equal(result.stdout.includes(secret), false, `secret in stdout:\n${result.stdout}`);
  }
}

const e2e = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn });

// ---------------------------------------------------------------- Azure Blob (Azurite)

e2e(
  "azure: exp push writes DVC's blob names; a fresh clone's exp pull restores them byte for byte",
  async () => {
    const azurite = await sharedAzurite();
    const container = await azurite.newContainer("e2e");
    const fx = await fixtureCopy("basic");
    try {
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(`azure://${container}/dvc store`, {
          connection_string: azurite.connectionString,
        }),
      );
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env: fx.env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(
        pushed.stdout,
        "Pushed experiment exp-a to Git remote 'origin'.\n23 files uploaded\n",
      );
      const blobs = (await azurite.blobNames(container)).map((name) => {
        assert.ok(name.startsWith("dvc store/"), name);
        return name.slice("dvc store/".length);
      });
      assert.deepEqual(blobs, goldenObjects("objects-exp-a-baseline2"));
      const again = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env: fx.env });
      assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");

      // A teammate: account name in the config, the key from the environment (AZURE_STORAGE_KEY).
      const clone = fx.freshClone();
      writeFileSync(
        join(clone, ".dvc", "config.local"),
        remoteConfig(`azure://${container}/dvc store`, { account_name: AZURITE_ACCOUNT }),
      );
      const env = {
        ...fx.env,
        AZURE_STORAGE_KEY: AZURITE_KEY,
        DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint,
      };
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], { cwd: clone, env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");

      // A wrong key: one line, nothing pushed, the key never shown.
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(`azure://${container}/dvc store`, { account_name: AZURITE_ACCOUNT }),
      );
      const wrongKey = btoa("this is not the account key, only base64 of it");
      const refsBefore = fx.git(["ls-remote", join(fx.root, "origin.git")]);
      const denied = await dxp(["exp", "push", "origin", "exp-b"], {
        cwd: fx.repo,
        env: { ...env, AZURE_STORAGE_KEY: wrongKey },
      });
      assertOneLineError(denied, [wrongKey, AZURITE_KEY]);
      assert.match(denied.stderr, /check the account key \(AZURE_STORAGE_KEY\)/);
      assert.deepEqual(
        (await azurite.blobNames(container)).length,
        goldenObjects("objects-exp-a-baseline2").length,
      );
      assert.equal(
        fx.git(["ls-remote", join(fx.root, "origin.git")]),
        refsBefore,
        "refs unchanged",
      );
    } finally {
      await fx.cleanup();
    }
  },
);

e2e(
  "azure: remote add/modify with a SAS token; push, status -c, then fetch and pull in a fresh clone",
  async () => {
    const azurite = await sharedAzurite();
    const container = await azurite.newContainer("sas");
    const fx = await fixtureCopy("basic");
    try {
      const sas = azurite.accountSas("rwdlac");
      const setup = async (cwd: string) => {
        for (
          const args of [
            ["remote", "add", "-f", "--local", "store", `azure://${container}/ws`],
            ["remote", "modify", "--local", "store", "account_name", AZURITE_ACCOUNT],
            ["remote", "modify", "--local", "store", "sas_token", sas],
          ]
        ) {
          const result = await dxp(args, { cwd, env: fx.env });
          assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        }
      };
      const env = { ...fx.env, DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint };
      await setup(fx.repo);
      const lacking = await dxp(["status", "-c", "--json"], { cwd: fx.repo, env });
      assert.equal(lacking.code, 0, lacking.stderr);
      assert.ok(
        Object.values(JSON.parse(lacking.stdout)).every((v) => v === "new"),
        lacking.stdout,
      );
      const pushed = await dxp(["push", "-j", "3"], { cwd: fx.repo, env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(pushed.stdout, "23 files pushed\n");
      assert.deepEqual(
        (await azurite.blobNames(container)).map((n) => n.slice("ws/".length)),
        goldenObjects("objects-workspace-baseline2"),
      );
      const inSync = await dxp(["status", "-c"], { cwd: fx.repo, env });
      assert.equal(inSync.code, 0, inSync.stderr);
      assert.equal(inSync.stdout, "Cache and remote 'store' are in sync.\n");
      assert.ok(!inSync.stdout.includes("sig="));

      const clone = fx.freshClone();
      await setup(clone);
      const fetched = await dxp(["fetch"], { cwd: clone, env });
      assert.equal(fetched.code, 0, fetched.stderr);
      assert.equal(fetched.stdout, "23 files fetched\n");
      const pulled = await dxp(["pull"], { cwd: clone, env });
      assert.equal(pulled.code, 0, pulled.stderr);
      for (const file of ["model.bin", "data/raw.csv", "data_out/binary.dat"]) {
        assert.deepEqual(readFileSync(join(clone, file)), readFileSync(join(fx.repo, file)), file);
      }
      const shown = await dxp(["remote", "list"], { cwd: clone, env });
      assert.ok(!shown.stdout.includes(AZURITE_KEY));
    } finally {
      await fx.cleanup();
    }
  },
);

e2e(
  "azure: anonymous exp pull from a public container; an anonymous push is refused in one line",
  async () => {
    const azurite = await sharedAzurite();
    const container = await azurite.newContainer("public", { publicAccess: true });
    const fx = await fixtureCopy("basic");
    try {
      const url = `azure://${container}`;
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(url, { connection_string: azurite.connectionString }),
      );
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env: fx.env });
      assert.equal(pushed.code, 0, pushed.stderr);
      const clone = fx.freshClone();
      writeFileSync(
        join(clone, ".dvc", "config.local"),
        remoteConfig(url, { account_name: AZURITE_ACCOUNT, allow_anonymous_login: "true" }),
      );
      const env = { ...fx.env, DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint };
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], { cwd: clone, env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(url, { account_name: AZURITE_ACCOUNT, allow_anonymous_login: "true" }),
      );
      const denied = await dxp(["exp", "push", "origin", "exp-b"], { cwd: fx.repo, env });
      assertOneLineError(denied, []);
      assert.match(denied.stderr, /anonymous/);
    } finally {
      await fx.cleanup();
    }
  },
);

/** One HTTPS Azurite with bearer-token checks (`--oauth basic`) for this file, and its CA. */
let httpsAzurite: Promise<{ azurite: Azurite; caFile: string }> | undefined;
function sharedHttpsAzurite() {
  return httpsAzurite ??= (async () => {
    const pki = testPki(mkdtempSync(join(tmpdir(), "dxp-azurite-pki-")));
    return { azurite: await startAzurite({ tls: pki }), caFile: pki.caFile };
  })();
}

/** A token shaped like Entra ID's for Azure Storage (Azurite checks iss, aud, nbf/exp). */
function entraToken(tenant: string, ageSeconds = 0): string {
  const now = Math.floor(Date.now() / 1000) - ageSeconds;
  return `${b64urlJson({ typ: "JWT", alg: "RS256" })}.${
    b64urlJson({
      aud: "https://storage.azure.com",
      iss: `https://sts.windows.net/${tenant}/`,
      iat: now,
      nbf: now - 60,
      exp: now + 3600,
    })
  }.c2lnbmF0dXJl`;
}

e2e(
  "azure: a service principal's token (HTTPS Azurite checks its claims) is fetched once per command",
  async () => {
    const fx = await fixtureCopy("basic");
    const { azurite, caFile } = await sharedHttpsAzurite();
    const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const issued: string[] = [];
    let expiredNext = false;
    const tokens = await startTokenServer(({ path, form }) => {
      if (
        path !== `/${tenant}/oauth2/v2.0/token` || form["grant_type"] !== "client_credentials" ||
        form["scope"] !== "https://storage.azure.com/.default"
      ) {
        return { status: 400, error: "invalid_request" };
      }
      if (form["client_id"] !== "app-id" || form["client_secret"] !== "app-secret-value") {
        return {
          status: 401,
          error: "invalid_client",
          description: "AADSTS7000215: Invalid client secret provided.",
        };
      }
      // An expired token still announced as valid (revoked early, clock skew): Azurite refuses it.
      const token = entraToken(tenant, expiredNext ? 7200 : 0);
      expiredNext = false;
      issued.push(token);
      return { token };
    });
    try {
      const container = await azurite.newContainer("sp");
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(`azure://${container}/sp`, {
          account_name: AZURITE_ACCOUNT,
          tenant_id: tenant,
          client_id: "app-id",
          client_secret: "app-secret-value",
        }),
      );
      const env = {
        ...fx.env,
        DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint,
        AZURE_AUTHORITY_HOST: tokens.url,
        SSL_CERT_FILE: caFile,
      };
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(tokens.requests.length, 1, "one token for 23 uploads");
      assert.equal(
        (await azurite.blobNames(container)).length,
        goldenObjects("objects-exp-a-baseline2").length,
      );

      // The same principal from the environment (DefaultAzureCredential's first source); its
      // first token is refused by the service: exactly one new token, for all 23 downloads.
      expiredNext = true;
      const clone = fx.freshClone();
      writeFileSync(
        join(clone, ".dvc", "config.local"),
        remoteConfig(`azure://${container}/sp`, { account_name: AZURITE_ACCOUNT }),
      );
      const fromEnv = {
        ...env,
        AZURE_TENANT_ID: tenant,
        AZURE_CLIENT_ID: "app-id",
        AZURE_CLIENT_SECRET: "app-secret-value",
      };
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], { cwd: clone, env: fromEnv });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
      assert.equal(tokens.requests.length, 3, "one token, one renewal after the refusal");

      // A wrong secret: one line quoting the token endpoint's reason, never the secret.
      const denied = await dxp(["exp", "pull", "origin", "exp-b"], {
        cwd: clone,
        env: { ...fromEnv, AZURE_CLIENT_SECRET: "wrong-secret-value" },
      });
      assertOneLineError(denied, ["wrong-secret-value", "app-secret-value", ...issued]);
      assert.match(denied.stderr, /invalid_client/);
    } finally {
      await tokens.stop();
      await fx.cleanup();
    }
  },
);

e2e(
  "azure: with nothing configured, tokens come from the managed identity (IMDS), else from 'az login'",
  async () => {
    const fx = await fixtureCopy("basic");
    const { azurite, caFile } = await sharedHttpsAzurite();
    const tenant = "0c0ffee0-0000-4000-8000-000000000001";
    const imdsSeen: string[] = [];
    const imds = http.createServer((req, res) => {
      imdsSeen.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? "/", "http://x");
      if (
        url.pathname !== "/metadata/identity/oauth2/token" || req.headers["metadata"] !== "true" ||
        url.searchParams.get("resource") !== "https://storage.azure.com"
      ) {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({
        access_token: entraToken(tenant),
        expires_in: "3599",
        expires_on: String(Math.floor(Date.now() / 1000) + 3599),
        resource: "https://storage.azure.com",
        token_type: "Bearer",
      }));
    });
    await new Promise<void>((resolve) => imds.listen(0, "127.0.0.1", resolve));
    try {
      const container = await azurite.newContainer("mi");
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(`azure://${container}`, { account_name: AZURITE_ACCOUNT }),
      );
      const env = {
        ...fx.env,
        DXP_AZURE_BLOB_ENDPOINT: azurite.endpoint,
        SSL_CERT_FILE: caFile,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${
          (imds.address() as AddressInfo).port
        }`,
      };
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(imdsSeen.length, 1, "one managed-identity token for the push");
      assert.equal(
        (await azurite.blobNames(container)).length,
        goldenObjects("objects-exp-a-baseline2").length,
      );

      // exclude_managed_identity_credential skips IMDS; the Azure CLI's login is next.
      const bin = join(fx.root, "bin");
      mkdirSync(bin);
      writeFileSync(
        join(bin, "az"),
        `#!/bin/sh\necho "$@" >> "${join(fx.root, "az.log")}"\n` +
          `printf '{"accessToken": "%s", "expiresOn": "2099-01-01 00:00:00.000000", ` +
          `"expires_on": %s, "tokenType": "Bearer"}' '${entraToken(tenant)}' ` +
          `"$(($(date +%s) + 3600))"\n`,
      );
      chmodSync(join(bin, "az"), 0o755);
      const clone = fx.freshClone();
      writeFileSync(
        join(clone, ".dvc", "config.local"),
        remoteConfig(`azure://${container}`, {
          account_name: AZURITE_ACCOUNT,
          exclude_managed_identity_credential: "true",
        }),
      );
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], {
        cwd: clone,
        env: { ...env, PATH: `${bin}:${fx.env["PATH"]}` },
      });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
      assert.equal(imdsSeen.length, 1, "IMDS not asked");
      assert.deepEqual(
        readFileSync(join(fx.root, "az.log"), "utf8").trim().split("\n"),
        ["account get-access-token --resource https://storage.azure.com --output json"],
      );
    } finally {
      await new Promise<void>((resolve) => imds.close(() => resolve()));
      await fx.cleanup();
    }
  },
);

// ---------------------------------------------------------------- Google Cloud Storage

/** A GCS contract server with bucket `bucket` and a service-account key file in `dir`. */
async function gcsServer(dir: string) {
  const server = await startGcsContractServer();
  server.addBucket("bucket");
  const sa = server.oauth.addServiceAccount("pusher@dxp-test.iam.gserviceaccount.com").file;
  writeFileSync(join(dir, "sa.json"), JSON.stringify(sa));
  return { server, sa };
}

/** No command may wait on the real metadata address. */
const NO_GCE = { NO_GCE_CHECK: "true" };

e2e(
  "gcs: exp push writes DVC's object names; a fresh clone's exp pull restores them; one token per command",
  async () => {
    const fx = await fixtureCopy("basic");
    const { server, sa } = await gcsServer(fx.root);
    try {
      const env = { ...fx.env, ...NO_GCE };
      for (
        const args of [
          ["remote", "add", "-f", "--local", "store", "gs://bucket/dvc store"],
          ["remote", "modify", "--local", "store", "endpointurl", server.url],
          ["remote", "modify", "--local", "store", "credentialpath", "../sa.json"],
        ]
      ) {
        const result = await dxp(args, { cwd: fx.repo, env });
        assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      }
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(
        pushed.stdout,
        "Pushed experiment exp-a to Git remote 'origin'.\n23 files uploaded\n",
      );
      assert.deepEqual(
        server.names("bucket").map((n) => n.slice("dvc store/".length)),
        goldenObjects("objects-exp-a-baseline2"),
      );
      assert.equal(server.oauth.tokenRequests.length, 1, "one token for 23 uploads");
      const again = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");

      // A teammate: the endpoint from STORAGE_EMULATOR_HOST, their own user credentials from
      // GOOGLE_APPLICATION_CREDENTIALS; the server revokes tokens in the middle of the pull.
      server.oauth.addClient("laptop-client", "laptop-secret");
      const userFile = join(fx.root, "user.json");
      writeFileSync(
        userFile,
        JSON.stringify({
          type: "authorized_user",
          client_id: "laptop-client",
          client_secret: "laptop-secret",
          refresh_token: server.oauth.addRefreshToken("laptop-client", "mate@example.com"),
          token_uri: server.oauth.tokenUri,
        }),
      );
      const clone = fx.freshClone();
      writeFileSync(join(clone, ".dvc", "config.local"), remoteConfig("gs://bucket/dvc store"));
      const before = server.oauth.tokenRequests.length;
      server.revokeTokensAfter(5);
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], {
        cwd: clone,
        env: {
          ...env,
          STORAGE_EMULATOR_HOST: server.host,
          GOOGLE_APPLICATION_CREDENTIALS: userFile,
        },
      });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
      assert.deepEqual(
        server.oauth.tokenRequests.slice(before).map((r) => r.grant),
        ["refresh_token", "refresh_token"],
        "one token, one refresh after the revocation",
      );

      // A key the server does not know: one line, no key material.
      const other = await startGcsContractServer();
      const foreign = other.oauth.addServiceAccount(sa.client_email).file;
      await other.stop();
      writeFileSync(
        join(fx.root, "sa.json"),
        JSON.stringify({ ...foreign, token_uri: server.oauth.tokenUri }),
      );
      const denied = await dxp(["exp", "push", "origin", "exp-b"], { cwd: fx.repo, env });
      assertOneLineError(denied, [foreign.private_key_id, "PRIVATE KEY", "laptop-secret"]);
      assert.match(denied.stderr, /invalid_grant/);
    } finally {
      await server.stop();
      await fx.cleanup();
    }
  },
);

e2e(
  "gcs: a 20 MiB object goes up in a resumable session; a connection cut mid-chunk is resumed, not restarted",
  async () => {
    const { dir, cleanup } = await scratch("dxp-gcs-big-");
    const { server } = await gcsServer(dir);
    try {
      const sample = await generateSample(join(dir, "sample"), {
        experiments: 1,
        bigFile: 20 * 1024 * 1024,
      });
      writeFileSync(
        join(sample.repo, ".dvc", "config.local"),
        remoteConfig("gs://bucket/big", {
          endpointurl: server.url,
          credentialpath: join(dir, "sa.json"),
        }),
      );
      const session = (url: string) => url.includes("upload_id");
      // The second chunk of the big object: 3 MiB arrive, then the connection dies — also
      // for every copy the runtime's HTTP client sends again by itself (Bun and Deno resend an
      // idempotent PUT that failed on a reused connection), so the failure reaches dxp.
      server.failMatching(
        (m, url, headers) =>
          m === "PUT" && session(url) &&
          headers["content-range"] === `bytes ${8 * 2 ** 20}-${16 * 2 ** 20 - 1}/${20 * 2 ** 20}`,
        { dropAfter: 3 * 1024 * 1024 },
        20,
      );
      const exp = sample.experiments.at(-1)!;
      const pushed = await dxp(["exp", "push", "origin", exp.name], {
        cwd: sample.repo,
        env: { ...goldenEnv(dir), ...NO_GCE },
      });
      assert.equal(pushed.code, 0, pushed.stderr);
      const names = server.names("bucket", "big/").map((n) => n.slice("big/".length));
      for (const key of exp.objects) assert.ok(names.includes(key), key);
      const MiB = 1024 * 1024;
      const size = 20 * MiB;
      const cut = `bytes ${8 * MiB}-${16 * MiB - 1}/${size}`;
      const ranges = server.requests.filter((r) => session(r.url))
        .map((r) => r.headers["content-range"]);
      assert.deepEqual(ranges.slice(0, 2), [`bytes 0-${8 * MiB - 1}/${size}`, cut]);
      // After the cut (and any resend of the same bytes): ask, then go on from 11 MiB.
      assert.deepEqual(ranges.slice(2).filter((r) => r !== cut), [
        `bytes */${size}`,
        `bytes ${11 * MiB}-${19 * MiB - 1}/${size}`,
        `bytes ${19 * MiB}-${size - 1}/${size}`,
      ]);
      assert.equal(
        server.requests.filter((r) => r.url.includes("uploadType=resumable") && !session(r.url))
          .length,
        1,
        "one session",
      );
      assert.equal(server.openSessions(), 0);
    } finally {
      await server.stop();
      await cleanup();
    }
  },
);

e2e("gcs: allow_anonymous_login pulls from a public bucket without credentials", async () => {
  const fx = await fixtureCopy("basic");
  const { server } = await gcsServer(fx.root);
  try {
    server.addBucket("open", { public: true });
    const env = { ...fx.env, ...NO_GCE };
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      remoteConfig("gs://open/store", {
        endpointurl: server.url,
        credentialpath: join(fx.root, "sa.json"),
      }),
    );
    const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
    assert.equal(pushed.code, 0, pushed.stderr);
    const clone = fx.freshClone();
    writeFileSync(
      join(clone, ".dvc", "config.local"),
      remoteConfig("gs://open/store", { endpointurl: server.url, allow_anonymous_login: "true" }),
    );
    const before = server.requests.length;
    const pulled = await dxp(["exp", "pull", "origin", "exp-a"], { cwd: clone, env });
    assert.equal(pulled.code, 0, pulled.stderr);
    assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
    const anonymous = server.requests.slice(before);
    assert.ok(anonymous.length >= 23);
    for (const request of anonymous) assert.equal(request.headers["authorization"], undefined);
    writeFileSync(
      join(fx.repo, ".dvc", "config.local"),
      remoteConfig("gs://open/other", { endpointurl: server.url, allow_anonymous_login: "true" }),
    );
    const denied = await dxp(["push"], { cwd: fx.repo, env });
    assertOneLineError(denied, []);
    assert.match(denied.stderr, /no credentials were found/);
  } finally {
    await server.stop();
    await fx.cleanup();
  }
});

// ---------------------------------------------------------------- Google Drive

/** A Drive contract server, a service account key in `dir`, and the env pointing at it. */
async function driveServer(dir: string) {
  const server = await startGDriveContractServer();
  const sa = server.oauth.addServiceAccount("pusher@dxp-test.iam.gserviceaccount.com").file;
  writeFileSync(join(dir, "sa.json"), JSON.stringify(sa));
  return { server, sa, env: { DXP_GDRIVE_API_URL: server.url } };
}

e2e(
  "gdrive: exp push writes PyDrive2's folder layout; a fresh clone with DVC's cached user credentials pulls it back",
  async () => {
    const fx = await fixtureCopy("basic");
    const { server, sa, env: apiEnv } = await driveServer(fx.root);
    try {
      const folder = server.addFolder("root", "dvc store");
      const env = { ...fx.env, ...apiEnv };
      writeFileSync(
        join(fx.repo, ".dvc", "config.local"),
        remoteConfig(`gdrive://${folder}`, {
          gdrive_use_service_account: "true",
          gdrive_service_account_json_file_path: "../../sa.json",
        }),
      );
      const pushed = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal(
        pushed.stdout,
        "Pushed experiment exp-a to Git remote 'origin'.\n23 files uploaded\n",
      );
      assert.deepEqual(server.files(folder), goldenObjects("objects-exp-a-baseline2"));
      for (const [path, count] of server.folders(folder)) assert.equal(count, 1, path);
      assert.equal(server.oauth.tokenRequests.length, 1, "one token for the whole push");
      const again = await dxp(["exp", "push", "origin", "exp-a"], { cwd: fx.repo, env });
      assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");

      // A teammate whose DVC logged in on a laptop (own OAuth client) copied the file here.
      server.oauth.addClient("team-client.apps.googleusercontent.com", "team-secret");
      const cacheDir = join(
        fx.root,
        "xdg-cache",
        "pydrive2fs",
        "team-client.apps.googleusercontent.com",
      );
      mkdirSync(cacheDir, { recursive: true });
      writeFileSync(
        join(cacheDir, "default.json"),
        JSON.stringify({
          access_token: "ya29.expired-long-ago",
          client_id: "team-client.apps.googleusercontent.com",
          client_secret: "team-secret",
          refresh_token: server.oauth.addRefreshToken(
            "team-client.apps.googleusercontent.com",
            "mate@example.com",
          ),
          token_expiry: "2024-05-01T10:00:00Z",
          token_uri: server.oauth.tokenUri,
          user_agent: null,
          revoke_uri: "https://oauth2.googleapis.com/revoke",
          id_token: null,
          id_token_jwt: null,
          token_response: null,
          scopes: ["https://www.googleapis.com/auth/drive"],
          token_info_uri: "https://oauth2.googleapis.com/tokeninfo",
          invalid: false,
          _class: "OAuth2Credentials",
          _module: "oauth2client.client",
        }),
      );
      const clone = fx.freshClone();
      writeFileSync(
        join(clone, ".dvc", "config.local"),
        remoteConfig(`gdrive://${folder}`, {
          gdrive_client_id: "team-client.apps.googleusercontent.com",
          gdrive_client_secret: "team-secret",
        }),
      );
      const before = server.oauth.tokenRequests.length;
      const pulled = await dxp(["exp", "pull", "origin", "exp-a"], {
        cwd: clone,
        env: { ...env, XDG_CACHE_HOME: join(fx.root, "xdg-cache") },
      });
      assert.equal(pulled.code, 0, pulled.stderr);
      assertCacheMatches(fx, clone, "objects-exp-a-baseline2");
      assert.deepEqual(
        server.oauth.tokenRequests.slice(before).map((r) => r.grant),
        ["refresh_token"],
        "one refresh for 23 downloads",
      );
      const saved = JSON.parse(readFileSync(join(cacheDir, "default.json"), "utf8"));
      assert.notEqual(
        saved.access_token,
        "ya29.expired-long-ago",
        "the new token is saved for DVC",
      );

      // A key Google does not know: one line, no key material.
      const other = await startGDriveContractServer();
      const foreign = other.oauth.addServiceAccount(sa.client_email).file;
      await other.stop();
      writeFileSync(
        join(fx.root, "sa.json"),
        JSON.stringify({ ...foreign, token_uri: server.oauth.tokenUri }),
      );
      const denied = await dxp(["exp", "push", "origin", "exp-b"], { cwd: fx.repo, env });
      assertOneLineError(denied, [foreign.private_key_id, "PRIVATE KEY", "team-secret"]);
      assert.match(denied.stderr, /invalid_grant/);
    } finally {
      await server.stop();
      await fx.cleanup();
    }
  },
);

for (
  const how of ["the browser comes back to the loopback port", "the redirect address is pasted"]
) {
  e2e(
    `gdrive: remote login on a machine without a browser (${how}); the push then uses the saved credentials`,
    async () => {
      const fx = await fixtureCopy("basic");
      const { server, env: apiEnv } = await driveServer(fx.root);
      try {
        const folder = server.addFolder("root", "store");
        server.oauth.addClient("own-client.apps.googleusercontent.com", "own-secret");
        const env = {
          ...fx.env,
          ...apiEnv,
          XDG_CACHE_HOME: join(fx.root, "xdg-cache"),
          DXP_GDRIVE_AUTH_URI: `${server.url}/o/oauth2/auth`,
          DXP_GDRIVE_TOKEN_URI: server.oauth.tokenUri,
        };
        for (
          const args of [
            ["remote", "add", "-f", "--local", "store", `gdrive://${folder}`],
            [
              "remote",
              "modify",
              "--local",
              "store",
              "gdrive_client_id",
              "own-client.apps.googleusercontent.com",
            ],
            ["remote", "modify", "--local", "store", "gdrive_client_secret", "own-secret"],
          ]
        ) {
          const result = await dxp(args, { cwd: fx.repo, env });
          assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
        }
        // Without credentials, a push stops at once with what to do.
        const refused = await dxp(["push"], { cwd: fx.repo, env });
        assertOneLineError(refused, ["own-secret"]);
        assert.match(refused.stderr, /dxp remote login/);

        let browsed: Promise<void> | undefined;
        const login = await dxp(["remote", "login", "store", "--port", "0"], {
          cwd: fx.repo,
          env,
          onStderr: (stderr, stdin) => {
            const url = /^ {4}(http\S+)$/m.exec(stderr)?.[1];
            if (url === undefined || browsed !== undefined) return;
            // The person at a browser elsewhere: Google's page consents and redirects.
            browsed = (async () => {
              const consent = await fetch(url, { redirect: "manual" });
              await consent.body?.cancel();
              assert.equal(consent.status, 302);
              const back = consent.headers.get("location")!;
              assert.match(back, /^http:\/\/localhost:\d+\/\?state=/);
              if (how.startsWith("the browser")) {
                // through `ssh -L`, the browser reaches the server's loopback port
                const page = await fetch(back.replace("localhost", "127.0.0.1"));
                assert.match(await page.text(), /authentication flow has completed/);
              } else {
                stdin.write(`${back}\n`);
              }
            })();
          },
        });
        await browsed;
        assert.equal(login.code, 0, login.stderr);
        const path = join(
          fx.root,
          "xdg-cache",
          "pydrive2fs",
          "own-client.apps.googleusercontent.com",
          "default.json",
        );
        assert.equal(
          login.stdout,
          `Logged in for remote 'store': credentials saved to '${path}'.\n`,
        );
        assert.match(login.stderr, /client_id=own-client.apps.googleusercontent.com/);
        assert.doesNotMatch(login.stderr + login.stdout, /own-secret/);
        const saved = JSON.parse(readFileSync(path, "utf8"));
        assert.equal(saved._module, "oauth2client.client");
        assert.equal(saved.client_id, "own-client.apps.googleusercontent.com");
        assert.match(saved.refresh_token, /^1\/\/refresh-/);
        assert.equal(statSync(path).mode & 0o777, 0o600);

        const before = server.oauth.tokenRequests.length;
        const pushed = await dxp(["push"], { cwd: fx.repo, env });
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(pushed.stdout, "23 files pushed\n");
        assert.deepEqual(server.files(folder), goldenObjects("objects-workspace-baseline2"));
        assert.equal(server.oauth.tokenRequests.length, before, "the saved access token is used");
      } finally {
        await server.stop();
        await fx.cleanup();
      }
    },
  );
}
