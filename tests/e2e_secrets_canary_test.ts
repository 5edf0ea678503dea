/**
 * Secrets canary: one secret value in every credential source dxp reads (S3
 * keys and session token in the config and the environment, DXP_GIT_TOKEN,
 * URL userinfo of Git and HTTP remotes, HTTP and SFTP passwords, Azure
 * account key and SAS token, Google Drive client secret and service-account
 * key data), then commands run with -v (and --json where they have it) over
 * servers that accept and servers that refuse. The canary must never appear
 * in stdout, stderr or any file dxp writes outside the config files that
 * hold it. A broad subset of the e2e suite's commands, on dist/dxp.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { startGitHttpServer } from "./helpers/http_git_server.ts";
import { startHttpDvcRemote } from "./helpers/http_dvc_remote.ts";
import { startMaliciousS3 } from "./helpers/malicious_s3.ts";
import { DXP_BIN, runAsync, type RunResult } from "./helpers/tmp.ts";

/** Valid base64 and URL-safe, so every source accepts it as it is. */
const CANARY = "Q2FuYXJ5U2VjcmV0NzQ1OQ";
const FORMS = [
  CANARY,
  Buffer.from(CANARY).toString("base64"),
  Buffer.from(`u:${CANARY}`).toString("base64"),
  Buffer.from(`x-access-token:${CANARY}`).toString("base64"),
];
/** A port nothing listens on (connections refused at once). */
const CLOSED = "http://127.0.0.1:9";

/** Files the test itself put the canary in: the user's config. */
/** Relative to HOME, which holds the fixture (`basic/`). */
const CONFIG_FILES = /^basic\/(repo\/(\.dvc\/config(\.local)?|\.git\/config)|home-sa\.json)$/;

interface Seen {
  readonly what: string;
  readonly result: RunResult;
}

function leaks(text: string): boolean {
  return FORMS.some((form) => text.includes(form));
}

/** Every file under HOME (the fixture and what dxp keeps there) holding the canary, but the config. */
function filesWithCanary(home: string): string[] {
  return listFiles(home).filter((rel) => {
    if (CONFIG_FILES.test(rel)) return false;
    try {
      return leaks(readFileSync(join(home, rel)).toString("latin1"));
    } catch {
      return false;
    }
  });
}

function remoteSection(name: string, url: string, options: Record<string, string>): string {
  return `['remote "${name}"']\n    url = ${url}\n` +
    Object.entries(options).map(([k, v]) => `    ${k} = ${v}\n`).join("");
}

Deno.test("a canary secret in every credential source never reaches output, errors or written files", async () => {
  const fx = await fixtureCopy("basic");
  const s3 = await startMaliciousS3("bucket");
  const gitServer = await startGitHttpServer({ auth: { user: "u", password: CANARY } });
  const httpRemote = await startHttpDvcRemote(join(fx.root, "http-store"));
  const seen: Seen[] = [];
  try {
    writeFileSync(
      join(fx.root, "home-sa.json"),
      JSON.stringify({
        type: "service_account",
        client_email: "dxp@example.iam.gserviceaccount.com",
        private_key_id: CANARY,
        private_key: `-----BEGIN PRIVATE KEY-----\n${CANARY}\n-----END PRIVATE KEY-----\n`,
        token_uri: `${CLOSED}/token`,
      }),
    );
    const env: Record<string, string> = {
      ...fx.env,
      AWS_ACCESS_KEY_ID: "AKIDCANARY",
      AWS_SECRET_ACCESS_KEY: CANARY,
      AWS_SESSION_TOKEN: CANARY,
      DXP_GIT_TOKEN: CANARY,
      AZURE_STORAGE_ACCOUNT_KEY: CANARY,
      AZURE_CLIENT_SECRET: CANARY,
      GDRIVE_CREDENTIALS_DATA: readFileSync(join(fx.root, "home-sa.json"), "utf8"),
      DXP_SSH_ASKPASS_PASSWORD: CANARY,
      DXP_GDRIVE_API_URL: CLOSED,
      DXP_GDRIVE_TOKEN_URI: `${CLOSED}/token`,
    };
    // Git over HTTP with userinfo: origin.git served behind Basic auth.
    cpSync(join(fx.root, "origin.git"), join(gitServer.root, "origin.git"), { recursive: true });
    const gitUrl = `${gitServer.baseUrl.replace("://", `://u:${CANARY}@`)}/origin.git`;
    const refusedGitUrl = `${gitServer.baseUrl.replace("://", `://u:wrong${CANARY}@`)}/origin.git`;
    const tokenGitUrl = `${gitServer.baseUrl.replace("://", "://u@")}/origin.git`;
    const config = [
      readFileSync(join(fx.repo, ".dvc", "config.local"), "utf8"),
      remoteSection("s3", "s3://bucket/dvc", {
        endpointurl: s3.endpoint,
        access_key_id: "AKIDCANARY",
        secret_access_key: CANARY,
        session_token: CANARY,
      }),
      remoteSection("s3refused", "s3://bucket/refused", {
        endpointurl: s3.endpoint,
        secret_access_key: CANARY,
        access_key_id: "AKIDCANARY",
      }),
      remoteSection("web", httpRemote.url.replace("://", `://u:${CANARY}@`), {
        auth: "basic",
        user: "u",
        password: CANARY,
      }),
      remoteSection("sftp", "ssh://u@127.0.0.1:9/store", { password: CANARY }),
      remoteSection("azure", "azure://container/dvc", {
        connection_string:
          `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${CANARY};BlobEndpoint=${CLOSED}/acct;`,
        sas_token: `sv=2022-11-02&sp=(r)&sig=${CANARY}`,
      }),
      remoteSection("gdrive", "gdrive://folder-id", {
        gdrive_client_id: "client.apps.googleusercontent.com",
        gdrive_client_secret: CANARY,
      }),
      remoteSection("gdrivesa", "gdrive://folder-id", {
        gdrive_use_service_account: "true",
      }),
    ].join("");
    writeFileSync(join(fx.repo, ".dvc", "config.local"), config);
    s3.trap = (req, res) => {
      if (!req.key.startsWith("refused/")) return false;
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
      );
      return true;
    };

    const dxp = async (args: string[], extraEnv: Record<string, string> = {}) => {
      const result = await runAsync(DXP_BIN, args, { cwd: fx.repo, env: { ...env, ...extraEnv } });
      seen.push({ what: args.join(" "), result });
      return result;
    };
    // Each remote, accepting and refusing.
    for (const remote of ["s3", "s3refused", "web", "sftp", "azure", "gdrive", "gdrivesa"]) {
      await dxp(["push", "-v", "-r", remote]);
      await dxp(["status", "-c", "-v", "-r", remote, "--json"]);
      await dxp(["fetch", "-v", "-r", remote]);
      await dxp(["exp", "push", "-v", "origin", "exp-b", "-r", remote]);
    }
    // Git over HTTP: userinfo accepted and refused, the token, --json answers.
    await dxp(["exp", "push", "-v", gitUrl, "exp-b", "--no-cache"]);
    await dxp(["exp", "list", "-v", gitUrl]);
    await dxp(["exp", "push", "--json", gitUrl, "exp-b", "--no-cache"]);
    await dxp(["exp", "pull", "--json", gitUrl, "exp-b", "--no-cache"]);
    await dxp(["exp", "push", "-v", refusedGitUrl, "exp-a", "--no-cache"]);
    await dxp(["exp", "list", "-v", tokenGitUrl]);
    await dxp(["exp", "pull", "-v", gitUrl, "exp-b", "--no-cache", "-f"]);
    await dxp(["exp", "show", "-v", "--json"]);
    await dxp(["remote", "list"]);

    // The commands did reach the credentials: the servers saw them.
    assert.ok(gitServer.requests.some((r) => r.authorized), "Git requests carried credentials");
    assert.ok(
      s3.requests.some((r) => r.headers.authorization !== undefined),
      "S3 requests were signed",
    );
    assert.ok(httpRemote.requests.length > 0, "the HTTP remote was asked");
    assert.ok(seen.some((s) => s.result.code === 0), "some commands succeeded");
    assert.ok(seen.some((s) => s.result.code !== 0), "some commands failed");
    // The scan finds the canary where it is (the config).
    assert.ok(leaks(readFileSync(join(fx.repo, ".dvc", "config.local"), "utf8")));

    // `remote list` prints the configured URLs, userinfo included, as DVC does: left out.
    const printed = seen.filter((s) => s.what !== "remote list")
      .filter((s) => leaks(s.result.stdout) || leaks(s.result.stderr))
      .map((s) => `dxp ${s.what} (exit ${s.result.code}):\n${s.result.stdout}${s.result.stderr}`);
    assert.deepEqual(printed, []);
    assert.deepEqual(filesWithCanary(fx.env.HOME!), []);
  } finally {
    await httpRemote.stop();
    await gitServer.stop();
    await s3.stop();
    await fx.cleanup();
  }
});
