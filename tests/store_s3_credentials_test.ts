/**
 * Where the S3 store finds its keys (boto3's order), each source proven
 * against a real Ceph RGW that checks signatures: the remote's options, AWS_*
 * variables, profiles in the shared files, and IMDSv2 instance-role keys from
 * a loopback stub.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthError, ConfigError, DxpError } from "../lib/errors/mod.ts";
import { parseAwsSize } from "../lib/store/s3/aws_files.ts";
import { configProfile, parseAwsIni } from "../lib/store/s3/ini.ts";
import { openS3Store } from "../lib/store/s3/mod.ts";
import type { S3Store } from "../lib/store/s3/mod.ts";
import { startImdsStub, startSilentServer } from "./helpers/imds_stub.ts";
import { RGW_SKIP_MESSAGE, rgwInstalled } from "./helpers/rgw.ts";
import { type SharedRgw, sharedRgw } from "./helpers/rgw_shared.ts";
import { startS3FaultProxy } from "./helpers/s3_fault_proxy.ts";
import { scratch } from "./helpers/tmp.ts";

const WRONG_SECRET = "wrongsecret000000000000000000000000000001";
/** Keeps every test off the real IMDS and the developer's ~/.aws. */
const isolated = (home: string) => ({ HOME: home, AWS_EC2_METADATA_DISABLED: "true" });

Deno.test("AWS shared files: sections, comments, nested s3 settings and awscli sizes", () => {
  const ini = parseAwsIni(
    "# comment\n[default]\nregion = eu-west-1\n; other comment\n[profile ci]\n" +
      "Aws_Access_Key_Id = AKID\naws_secret_access_key=se=cret\ns3 =\n  multipart_threshold = 64MB\n" +
      "  addressing_style = path\nregion: us-west-2\n",
  );
  assert.equal(configProfile(ini, "default")?.get("region"), "eu-west-1");
  const ci = configProfile(ini, "ci");
  assert.equal(ci?.get("aws_access_key_id"), "AKID");
  assert.equal(ci?.get("aws_secret_access_key"), "se=cret");
  assert.equal(ci?.get("s3.multipart_threshold"), "64MB");
  assert.equal(ci?.get("s3.addressing_style"), "path");
  assert.equal(ci?.get("region"), "us-west-2");
  assert.equal(parseAwsSize("64MB"), 64 * 1024 * 1024);
  assert.equal(parseAwsSize("8MiB"), 8 * 1024 * 1024);
  assert.equal(parseAwsSize("1048576"), 1048576);
  assert.equal(parseAwsSize("1.5KB"), 1536);
  assert.equal(parseAwsSize("lots"), undefined);
});

Deno.test("S3 options: partial keys and a missing explicit profile are configuration errors", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const env = isolated(dir);
    const only = openS3Store("s3://b", { access_key_id: "AKIDONLY" }, { env });
    await assert.rejects(only.exists("k"), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /Only one of access_key_id and secret_access_key/);
      return true;
    });
    const envOnly = openS3Store("s3://b", {}, { env: { ...env, AWS_ACCESS_KEY_ID: "AKID" } });
    await assert.rejects(envOnly.exists("k"), ConfigError);
    const missing = openS3Store("s3://b", { profile: "nope" }, { env });
    await assert.rejects(missing.exists("k"), /AWS profile 'nope' was not found/);
    await writeFile(join(dir, "config"), "[profile sso]\nsso_session = corp\n");
    const sso = openS3Store("s3://b", { profile: "sso", configpath: join(dir, "config") }, { env });
    await assert.rejects(sso.exists("k"), /'sso_session', which dxp does not support/);
  } finally {
    await cleanup();
  }
});

Deno.test("S3 region: option, then AWS_REGION/AWS_DEFAULT_REGION, then the profile, then us-east-1", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const config = join(dir, "config");
    await writeFile(config, "[default]\nregion = ap-south-1\n");
    const region = async (options: Record<string, string>, env: Record<string, string>) =>
      (await openS3Store("s3://b", options, { env: { ...isolated(dir), ...env } }).client
        .settings())
        .region;
    assert.equal(await region({ region: "eu-north-1" }, { AWS_REGION: "x" }), "eu-north-1");
    assert.equal(
      await region({}, { AWS_REGION: "us-west-1", AWS_DEFAULT_REGION: "y" }),
      "us-west-1",
    );
    assert.equal(await region({}, { AWS_DEFAULT_REGION: "ca-central-1" }), "ca-central-1");
    assert.equal(await region({ configpath: config }, {}), "ap-south-1");
    assert.equal(await region({}, {}), "us-east-1");
  } finally {
    await cleanup();
  }
});

Deno.test("S3 store without any credentials says where to set them", async () => {
  const { dir, cleanup } = await scratch();
  try {
    const store = openS3Store("s3://bucket/prefix", {}, { env: isolated(dir) });
    await assert.rejects(store.exists("k"), (e) => {
      assert.ok(e instanceof AuthError, String(e));
      assert.equal(
        e.message,
        "No AWS credentials found for 's3://bucket/prefix': set access_key_id/secret_access_key " +
          "with 'dxp remote modify --local', or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile.",
      );
      return true;
    });
  } finally {
    await cleanup();
  }
});

Deno.test("S3 store gives up on an IMDS that never answers when its probe budget runs out", async () => {
  const { dir, cleanup } = await scratch();
  const silent = await startSilentServer();
  try {
    const debug: string[] = [];
    const store = openS3Store("s3://b", {}, {
      env: { HOME: dir, AWS_EC2_METADATA_SERVICE_ENDPOINT: silent.endpoint },
      onDebug: (line) => debug.push(line),
    });
    await assert.rejects(store.exists("k"), AuthError);
    // The probe's own budget ended it (not a refused connection or an error answer).
    assert.deepEqual(debug.filter((line) => line.startsWith("IMDS")), [
      `IMDS not available at ${silent.endpoint}: TimeoutError`,
    ]);
    assert.equal(silent.connections(), 1, "the token request reached the silent server");
  } finally {
    await silent.stop();
    await cleanup();
  }
});

if (!rgwInstalled()) {
  Deno.test({ name: `s3/rgw credentials: ${RGW_SKIP_MESSAGE}`, ignore: true, fn() {} });
} else {
  let bucket: Promise<string> | undefined;
  /** The shared cluster and this file's bucket. */
  const rgw = async () => {
    const server = (await sharedRgw())!;
    return { server, bucket: await (bucket ??= server.newBucket("creds")) };
  };

  /** Proves the store signs correctly: a write, an existence check and a listing. */
  const works = async (store: S3Store, dir: string) => {
    const file = join(dir, `probe-${crypto.randomUUID()}`);
    await writeFile(file, "probe");
    const key = `probe/${crypto.randomUUID()}`;
    await store.put(key, file, {});
    assert.equal(await store.exists(key), true);
    await store.delete(key);
  };

  const credTest = (
    name: string,
    fn: (server: SharedRgw, dir: string, url: string) => Promise<void>,
  ) =>
    Deno.test(name, async () => {
      const { server, bucket } = await rgw();
      const { dir, cleanup } = await scratch("dxp-s3-creds-");
      try {
        await fn(server, dir, `s3://${bucket}/remote`);
      } finally {
        await cleanup();
      }
    });

  credTest("the remote's own keys sign requests and win over AWS_*", async (server, dir, url) => {
    const store = openS3Store(url, {
      endpointurl: server.endpoint,
      access_key_id: server.accessKey,
      secret_access_key: server.secretKey,
    }, {
      env: {
        ...isolated(dir),
        AWS_ACCESS_KEY_ID: "AKIDWRONG",
        AWS_SECRET_ACCESS_KEY: WRONG_SECRET,
      },
    });
    await works(store, dir);
  });

  credTest("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY sign requests", async (server, dir, url) => {
    const store = openS3Store(url, { endpointurl: server.endpoint }, {
      env: {
        ...isolated(dir),
        AWS_ACCESS_KEY_ID: server.accessKey,
        AWS_SECRET_ACCESS_KEY: server.secretKey,
      },
    });
    await works(store, dir);
  });

  credTest("a session token is sent as X-Amz-Security-Token", async (server, dir, url) => {
    // RGW accepts (ignores) a session token next to a static user's keys.
    const proxy = await startS3FaultProxy(server.endpoint);
    try {
      const store = openS3Store(url, { endpointurl: proxy.endpoint }, {
        env: {
          ...isolated(dir),
          AWS_ACCESS_KEY_ID: server.accessKey,
          AWS_SECRET_ACCESS_KEY: server.secretKey,
          AWS_SESSION_TOKEN: "session-token-value",
        },
      });
      await works(store, dir);
      assert.ok(proxy.requests.length >= 3);
      for (const request of proxy.requests) {
        assert.equal(request.headers["x-amz-security-token"], "session-token-value");
        assert.match(String(request.headers["authorization"]), /x-amz-security-token/);
      }
    } finally {
      await proxy.stop();
    }
  });

  credTest(
    "a profile in AWS_SHARED_CREDENTIALS_FILE, chosen by option or AWS_PROFILE",
    async (server, dir, url) => {
      const file = join(dir, "credentials");
      await writeFile(
        file,
        `[default]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = ${WRONG_SECRET}\n\n` +
          `# team keys\n[team]\naws_access_key_id = ${server.accessKey}\n` +
          `aws_secret_access_key = ${server.secretKey}\n`,
      );
      const env = { ...isolated(dir), AWS_SHARED_CREDENTIALS_FILE: file };
      await works(
        openS3Store(url, { endpointurl: server.endpoint, profile: "team" }, { env }),
        dir,
      );
      await works(
        openS3Store(url, { endpointurl: server.endpoint }, {
          env: { ...env, AWS_PROFILE: "team" },
        }),
        dir,
      );
      const fallback = openS3Store(url, { endpointurl: server.endpoint }, { env });
      await assert.rejects(works(fallback, dir), /InvalidAccessKeyId/); // [default] is wrong
    },
  );

  credTest(
    "credentialpath and configpath are used unless AWS_SHARED_CREDENTIALS_FILE is set",
    async (server, dir, url) => {
      const good = join(dir, "good");
      const bad = join(dir, "bad");
      await writeFile(
        good,
        `[default]\naws_access_key_id=${server.accessKey}\naws_secret_access_key=${server.secretKey}\n`,
      );
      await writeFile(bad, `[default]\naws_access_key_id=AKIDWRONG\naws_secret_access_key=x\n`);
      const options = { endpointurl: server.endpoint, credentialpath: good };
      await works(openS3Store(url, options, { env: isolated(dir) }), dir);
      const overridden = openS3Store(url, options, {
        env: { ...isolated(dir), AWS_SHARED_CREDENTIALS_FILE: bad },
      });
      await assert.rejects(works(overridden, dir), /InvalidAccessKeyId/);

      const config = join(dir, "config");
      await writeFile(
        config,
        `[profile ci]\nregion = eu-west-3\naws_access_key_id = ${server.accessKey}\n` +
          `aws_secret_access_key = ${server.secretKey}\ns3 =\n  multipart_threshold = 6MB\n` +
          `  multipart_chunksize = 5MiB\n`,
      );
      const viaConfig = openS3Store(url, {
        endpointurl: server.endpoint,
        profile: "ci",
        configpath: config,
      }, { env: isolated(dir) });
      await works(viaConfig, dir);
      const settings = await viaConfig.client.settings();
      assert.equal(settings.region, "eu-west-3");
      assert.equal(settings.tuning.multipartThreshold, 6 * 1024 * 1024);
      assert.equal(settings.tuning.partSize, 5 * 1024 * 1024);
    },
  );

  credTest("~/.aws/credentials is found through HOME", async (server, dir, url) => {
    await mkdir(join(dir, ".aws"));
    await writeFile(
      join(dir, ".aws", "credentials"),
      `[default]\naws_access_key_id = ${server.accessKey}\naws_secret_access_key = ${server.secretKey}\n`,
    );
    await works(openS3Store(url, { endpointurl: server.endpoint }, { env: isolated(dir) }), dir);
  });

  credTest("IMDSv2 instance-role keys are fetched once and reused", async (server, dir, url) => {
    const imds = await startImdsStub({
      accessKeyId: server.accessKey,
      secretAccessKey: server.secretKey,
      sessionToken: "imds-session-token",
    });
    try {
      const debug: string[] = [];
      const store = openS3Store(url, { endpointurl: server.endpoint }, {
        env: { HOME: dir, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint },
        onDebug: (line) => debug.push(line),
      });
      await works(store, dir);
      await works(store, dir);
      assert.deepEqual(imds.requests, [
        "PUT /latest/api/token",
        "GET /latest/meta-data/iam/security-credentials/",
        "GET /latest/meta-data/iam/security-credentials/dxp-test-role",
      ]);
      assert.ok(debug.some((line) => line.includes("instance role 'dxp-test-role' (IMDS)")));
      for (const line of debug) {
        assert.ok(!line.includes(server.secretKey) && !line.includes("imds-session-token"), line);
      }
    } finally {
      await imds.stop();
    }
  });

  credTest("IMDS keys close to expiry are fetched again", async (server, dir, url) => {
    const imds = await startImdsStub({
      accessKeyId: server.accessKey,
      secretAccessKey: server.secretKey,
      expiration: () => new Date(Date.now() + 60_000).toISOString(),
    });
    try {
      const store = openS3Store(url, { endpointurl: server.endpoint }, {
        env: { HOME: dir, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint },
      });
      await store.exists("a");
      await store.exists("b");
      // every signed request (HEAD, bucket check, HEAD) needed fresh keys
      assert.equal(imds.requests.filter((r) => r.startsWith("PUT")).length, 3);
    } finally {
      await imds.stop();
    }
  });

  credTest("AWS_EC2_METADATA_DISABLED=true never asks IMDS", async (server, dir, url) => {
    const imds = await startImdsStub({
      accessKeyId: server.accessKey,
      secretAccessKey: server.secretKey,
    });
    try {
      const store = openS3Store(url, { endpointurl: server.endpoint }, {
        env: {
          HOME: dir,
          AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
          AWS_EC2_METADATA_DISABLED: "true",
        },
      });
      await assert.rejects(store.exists("k"), /No AWS credentials found/);
      assert.deepEqual(imds.requests, []);
    } finally {
      await imds.stop();
    }
  });

  credTest(
    "a wrong secret or key id is a permanent AuthError that names the fix",
    async (server, dir, url) => {
      const wrongSecret = openS3Store(url, {
        endpointurl: server.endpoint,
        access_key_id: server.accessKey,
        secret_access_key: WRONG_SECRET,
      }, { env: isolated(dir) });
      const file = join(dir, "f");
      await writeFile(file, "x");
      // exists() uses HEAD, whose error has no body: the code comes from a follow-up probe.
      for (const attempt of [() => wrongSecret.exists("k"), () => wrongSecret.put("k", file, {})]) {
        await assert.rejects(attempt(), (e) => {
          assert.ok(e instanceof AuthError, String(e));
          assert.equal(
            e.message,
            `S3 rejected the secret access key used for '${url}' (SignatureDoesNotMatch): ` +
              "fix secret_access_key with 'dxp remote modify --local', or AWS_SECRET_ACCESS_KEY, or the profile.",
          );
          assert.ok(!e.message.includes(WRONG_SECRET));
          return true;
        });
      }
      const unknownKey = openS3Store(url, {
        endpointurl: server.endpoint,
        access_key_id: "AKIDUNKNOWN000000000",
        secret_access_key: server.secretKey,
      }, { env: isolated(dir) });
      await assert.rejects(unknownKey.exists("k"), (e) => {
        assert.ok(e instanceof DxpError && e instanceof AuthError, String(e));
        assert.match(e.message, /InvalidAccessKeyId.*fix access_key_id/);
        assert.ok(!e.message.includes(server.secretKey));
        return true;
      });
    },
  );
}
