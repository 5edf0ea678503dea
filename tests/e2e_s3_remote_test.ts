/**
 * dist/dxp against a real S3 implementation (Ceph RGW on loopback): exp push
 * writes DVC's object keys, exp pull in a fresh clone gets them back
 * byte-identical, and a 100 MiB object is pushed with bounded memory.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSample } from "../scripts/sample/generate.ts";
import { fixtureCopy, listFiles } from "./helpers/fixture_repo.ts";
import { RGW_SKIP_MESSAGE, rgwInstalled } from "./helpers/rgw.ts";
import { type SharedRgw, sharedRgw } from "./helpers/rgw_shared.ts";
import { DXP_BIN, goldenEnv, run, runAsync, scratch } from "./helpers/tmp.ts";

function s3Config(server: SharedRgw, bucket: string, withKeys: boolean): string {
  return "['remote \"store\"']\n" +
    `    url = s3://${bucket}/dvc store\n` +
    `    endpointurl = ${server.endpoint}\n` +
    (withKeys
      ? `    access_key_id = ${server.accessKey}\n    secret_access_key = ${server.secretKey}\n`
      : "");
}

/** The keys under the remote's prefix, from RGW's own bucket index (not through dxp). */
async function bucketKeys(server: SharedRgw, bucket: string): Promise<string[]> {
  const prefix = "dvc store/";
  return (await server.bucketKeys(bucket))
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length));
}

/** The object list of a golden `objects-*.txt` (plain lines after the comments). */
function goldenObjects(name: string): string[] {
  const path = new URL(`./fixtures/golden/basic/${name}.txt`, import.meta.url).pathname;
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "" && !l.startsWith("#"))
    .sort();
}

if (!rgwInstalled()) {
  Deno.test({ name: `e2e s3: ${RGW_SKIP_MESSAGE}`, ignore: true, fn() {} });
} else {
  const rgw = async () => (await sharedRgw())!;
  const newBucket = async () => await (await rgw()).newBucket("e2e");

  Deno.test({
    name:
      "dxp exp push to S3 writes DVC's keys; exp pull in a fresh clone restores them byte for byte",
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await rgw();
      const bucket = await newBucket();
      const fx = await fixtureCopy("basic");
      try {
        writeFileSync(join(fx.repo, ".dvc", "config.local"), s3Config(server, bucket, true));
        const pushed = await runAsync(DXP_BIN, ["exp", "push", "origin", "exp-a"], {
          cwd: fx.repo,
          env: fx.env,
        });
        assert.equal(pushed.code, 0, pushed.stderr);
        assert.equal(
          pushed.stdout,
          "Pushed experiment exp-a to Git remote 'origin'.\n23 files uploaded\n",
        );
        assert.deepEqual(
          await bucketKeys(server, bucket),
          goldenObjects("objects-exp-a-baseline2"),
        );
        const again = await runAsync(DXP_BIN, ["exp", "push", "origin", "exp-a"], {
          cwd: fx.repo,
          env: fx.env,
        });
        assert.equal(again.stdout, "Experiment exp-a is up to date on Git remote 'origin'.\n");

        // A teammate: credentials from the environment instead of config.local.
        const clone = fx.freshClone();
        writeFileSync(join(clone, ".dvc", "config.local"), s3Config(server, bucket, false));
        const env = {
          ...fx.env,
          AWS_ACCESS_KEY_ID: server.accessKey,
          AWS_SECRET_ACCESS_KEY: server.secretKey,
        };
        const pulled = await runAsync(DXP_BIN, ["exp", "pull", "origin", "exp-a"], {
          cwd: clone,
          env,
        });
        assert.equal(pulled.code, 0, pulled.stderr);
        const cache = listFiles(join(clone, ".dvc", "cache"), true);
        assert.deepEqual(
          cache.map((l) => l.split(" ")[1]),
          goldenObjects("objects-exp-a-baseline2"),
        );
        for (const line of cache) {
          const [mode, rel] = line.split(" ");
          assert.equal(mode, "444");
          assert.deepEqual(
            readFileSync(join(clone, ".dvc", "cache", rel!)),
            readFileSync(join(fx.repo, ".dvc", "cache", rel!)),
          );
        }
        // Wrong secret: one clear line, and the ref is not pushed.
        writeFileSync(join(fx.repo, ".dvc", "config.local"), s3Config(server, bucket, false));
        const denied = await runAsync(DXP_BIN, ["exp", "push", "origin", "typed-gulf", "-f"], {
          cwd: fx.repo,
          env: {
            ...fx.env,
            AWS_ACCESS_KEY_ID: server.accessKey,
            AWS_SECRET_ACCESS_KEY: "wrong-secret-0000000000000000000000000000",
          },
        });
        assert.notEqual(denied.code, 0);
        assert.doesNotMatch(denied.stderr, /wrong-secret/);
        assert.match(denied.stderr, /^ERROR: .+/m);
        assert.equal(denied.stderr.includes("    at "), false, "no stack trace");
      } finally {
        await fx.cleanup();
      }
    },
  });

  Deno.test({
    name: "dxp exp push of a 100 MiB output to S3 stays under 200 MB of memory (multipart)",
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const server = await rgw();
      const bucket = await newBucket();
      const { dir, cleanup } = await scratch("dxp-s3-big-");
      try {
        const sample = await generateSample(join(dir, "sample"), {
          experiments: 1,
          bigFile: 100 * 1024 * 1024,
        });
        writeFileSync(join(sample.repo, ".dvc", "config.local"), s3Config(server, bucket, true));
        const exp = sample.experiments.at(-1)!;
        const result = run("/usr/bin/time", [
          "-f",
          "%M",
          DXP_BIN,
          "exp",
          "push",
          "origin",
          exp.name,
        ], {
          cwd: sample.repo,
          env: goldenEnv(dir),
        });
        assert.equal(result.code, 0, result.stderr);
        const peakKb = Number(result.stderr.trim().split("\n").at(-1));
        console.log(
          `peak RSS of dxp exp push with a 100 MiB object to S3: ${Math.round(peakKb / 1024)} MB`,
        );
        assert.ok(peakKb > 0 && peakKb < 200 * 1024, `peak RSS ${Math.round(peakKb / 1024)} MB`);
        const keys = await bucketKeys(server, bucket);
        for (const key of exp.objects) assert.ok(keys.includes(key), key);
        const unfinished = (await server.bucketKeys(bucket)).filter((k) => k.startsWith("upload:"));
        assert.deepEqual(unfinished, [], "every multipart upload was completed");
      } finally {
        await cleanup();
      }
    },
  });
}
