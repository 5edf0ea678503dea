/**
 * Fuzzing configuration and names that arrive from outside: DVC's INI config
 * (with the writer's round trip), Git config, Git remote URLs and every DVC
 * remote URL form, experiment ref names, the tar reader (with TarWriter's
 * round trip) and Git bundle headers (with the writer's round trip).
 */
import { concatBytes } from "../lib/util/bytes.ts";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors/mod.ts";
import { expRefsOf, formatExpRef, parseExpRef } from "../lib/core/exp_ref.ts";
import { parseBundleHeader } from "../lib/git/bundle_read.ts";
import { bundleHeader } from "../lib/git/bundle_write.ts";
import { parseGitConfig } from "../lib/git/git_config.ts";
import { credentialFor } from "../lib/git/credentials.ts";
import { percentDecode } from "../lib/util/percent.ts";
import { parseGitUrl } from "../lib/git/transport/url.ts";
import { parseIni, setEntry } from "../lib/project/dvc_config/mod.ts";
import { parseConfigText } from "../lib/project/dvc_config/load.ts";
import { validateConfigData } from "../lib/project/dvc_config/schema.ts";
import { parseAzureRemote } from "../lib/store/azure/options.ts";
import { parseGcsRemote } from "../lib/store/gcs/options.ts";
import { parseGDriveRemote } from "../lib/store/gdrive/options.ts";
import { parseHttpRemote } from "../lib/store/http_options.ts";
import { parseS3Remote } from "../lib/store/s3/options.ts";
import { parseSshRemote } from "../lib/store/sftp/ssh_remote.ts";
import { readTar, TarError } from "../lib/util/tar_read.ts";
import { TarWriter } from "../lib/util/tar_write.ts";
import {
  chunked,
  fc,
  fuzzTarget,
  fuzzTargetAsync,
  isExactly,
  mutatedBytes,
  mutatedText,
  streamOf,
} from "./helpers/fuzz.ts";

const DVC_CONFIG = `[core]
    remote = store
    autostage = true
['remote "store"']
    url = s3://bucket/path
    endpointurl = http://127.0.0.1:7480
    access_key_id = AKIA, "quoted", 'x'
['remote "other"']
    url = '''multi
line'''
    # comment
[cache]
    type = "reflink,copy"
[[nested]]
`;

const INI_TOKENS = [
  "[",
  "]",
  "[[",
  "'",
  '"',
  "'''",
  '"""',
  " = ",
  ",",
  "#",
  "%(url)s",
  "\r\n",
  "\x85",
  "\ufeff",
  "\t",
];

Deno.test("fuzz: parseIni() and DVC's config schema read or throw ConfigError", () => {
  fuzzTarget("dvc config (ini)", mutatedText([DVC_CONFIG], INI_TOKENS), (text) => {
    parseIni(text, "/p/.dvc/config");
    validateConfigData(parseConfigText(text, "/p/.dvc/config"));
  });
});

Deno.test("fuzz: setEntry() writes any value it accepts so that parseIni() reads it back unchanged", () => {
  const value = fc.oneof(
    fc.string({ unit: "binary", maxLength: 24 }),
    fc.array(fc.string({ unit: "binary", maxLength: 8 }), { maxLength: 3 }),
  );
  const name = fc.string({ unit: "binary", minLength: 1, maxLength: 10 });
  fuzzTarget(
    "dvc config writer round trip",
    fc.tuple(
      mutatedText([DVC_CONFIG, ""], INI_TOKENS),
      name,
      fc.stringMatching(/^[a-z_]{1,12}$/),
      value,
    ),
    ([text, remote, key, v]) => {
      parseIni(text, "/p/.dvc/config"); // only texts DVC would read are edited
      const written = setEntry(text, "/p/.dvc/config", { kind: "remote", name: remote }, key, v);
      return written;
    },
    {
      check: ([, remote, key, v], written) => {
        const doc = parseIni(written as string, "/p/.dvc/config");
        const section = doc.root.sections.filter((s) => s.name === `remote "${remote}"`).at(-1);
        const entry = section?.entries.find((e) => e.key.toLowerCase() === key);
        assert.deepEqual(entry?.value, v);
      },
    },
  );
});

Deno.test("fuzz: parseGitConfig() reads any text without throwing", () => {
  const sample =
    `[core]\n\tbare = false\n[remote "origin"]\n\turl = git@h:r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[url "https://x/"]\n\tinsteadOf = gh: ; c\n[credential]\n\thelper = "store --file \\"a b\\""\n`;
  fuzzTarget(
    "git config",
    mutatedText([sample], ["\\\n", '"', "\\", "[", "]", "#", ";", "=", '[a "b\\"c"]']),
    parseGitConfig,
    { allowed: () => false },
  );
});

const GIT_URLS = [
  "git@github.com:team/repo.git",
  "ssh://user@[::1]:2222/~/r.git",
  "https://user:pw@host/path/r.git?x=1",
  "file:///srv/r.git",
  "../relative/r",
  "[user@host:22]:path",
  "C:\\repo",
];

Deno.test("fuzz: parseGitUrl() parses or throws InvalidArgumentError; ssh hosts never read as options", () => {
  fuzzTarget(
    "git remote urls",
    mutatedText(GIT_URLS, ["-oProxyCommand=x", "%2d", "@", ":", "[", "]", "//", "\0", "\n", "%"]),
    (url) => parseGitUrl(url, "/work"),
    {
      check: (_url, value) => {
        const parsed = value as { kind: string; host?: string; user?: string };
        if (parsed.kind === "ssh") {
          assert.ok(!parsed.host?.startsWith("-"), `host ${parsed.host}`);
          assert.ok(!parsed.user?.startsWith("-"), `user ${parsed.user}`);
        }
      },
    },
  );
});

const STORE_URLS = [
  "s3://bucket/prefix/a",
  "gs://bucket/p",
  "azure://container/path",
  "gdrive://root/dvc",
  "https://user@example.com:8443/dvc?x=1",
  "ssh://user@host:2222/srv/dvc",
];

Deno.test("fuzz: every DVC remote URL parser parses or throws ConfigError/InvalidArgumentError", () => {
  const env = { HOME: "/nonexistent", XDG_CACHE_HOME: "/nonexistent" };
  fuzzTarget(
    "dvc remote urls",
    mutatedText(STORE_URLS, ["-oProxyCommand=x", "%2d", "@", ":", "//", "..", "\0", "?", "#", "%"]),
    (url) => {
      const scheme = /^([a-z0-9]+):/i.exec(url)?.[1]?.toLowerCase();
      switch (scheme) {
        case "s3":
          return parseS3Remote(url, {}, env);
        case "gs":
          return parseGcsRemote(url, {}, env);
        case "azure":
          return parseAzureRemote(url, { allow_anonymous_login: "true" }, env);
        case "gdrive":
          return parseGDriveRemote(url, {}, env);
        case "ssh":
          return parseSshRemote(url, {});
        default:
          return parseHttpRemote(url, {});
      }
    },
    {
      check: (_url, value) => {
        const host = (value as { host?: string }).host;
        if (typeof host === "string") assert.ok(!host.startsWith("-"), `host ${host}`);
      },
    },
  );
});

Deno.test("fuzz: parseExpRef() and expRefsOf() parse or throw InvalidArgumentError", () => {
  const ref = formatExpRef("ab".repeat(20), "exp-1");
  fuzzTarget(
    "experiment ref names",
    mutatedText([ref, "refs/exps/stash", "refs/exps/ab/cd/e"], [
      "/",
      "..",
      "\0",
      "\n",
      "refs/heads/",
      "@{",
      "~",
      "^",
    ]),
    (name) => {
      expRefsOf([name]);
      return parseExpRef(name);
    },
    { allowed: isExactly(InvalidArgumentError) },
  );
});

function sinkInto(parts: Uint8Array[]) {
  return {
    write(bytes: Uint8Array) {
      parts.push(bytes.slice());
      return Promise.resolve();
    },
  };
}

async function tarSample(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const writer = new TarWriter(sinkInto(parts));
  await writer.add({ path: "manifest.json", size: 7 }, new TextEncoder().encode('{"a":1}'));
  await writer.add(
    { path: `${"long/".repeat(30)}name-é.bin`, size: 700 },
    new Uint8Array(700).fill(7),
  );
  await writer.end();
  return concatBytes(parts);
}

Deno.test("fuzz: readTar() yields members or throws TarError, in chunks of any size", async () => {
  const sample = await tarSample();
  await fuzzTargetAsync(
    "tar reader",
    fc.tuple(
      mutatedBytes([sample], [
        "ustar\0",
        "ustar ",
        "00000000777",
        "\x80\xff\xff\xff",
        "x",
        "L",
        "2",
        "1",
      ]),
      fc.array(fc.nat(), { maxLength: 6 }),
    ),
    async ([bytes, cuts]) => {
      const members: { path: string; size: number }[] = [];
      for await (const entry of readTar(streamOf(chunked(bytes, cuts)))) {
        let size = 0;
        for await (const chunk of entry.body()) size += chunk.length;
        assert.equal(size, entry.type === "file" ? entry.size : size);
        members.push({ path: entry.path, size });
      }
      return members;
    },
    { allowed: isExactly(TarError), scale: 0.5 },
  );
});

Deno.test("fuzz: TarWriter's archives of any names and sizes read back identically", async () => {
  await fuzzTargetAsync(
    "tar round trip",
    fc.array(
      fc.tuple(
        fc.array(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }).filter((s) =>
            !s.includes("/") && !s.includes("\0") && s !== "." && s !== ".."
          ),
          { minLength: 1, maxLength: 5 },
        ),
        fc.integer({ min: 0, max: 2000 }),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    async (files) => {
      const parts: Uint8Array[] = [];
      const writer = new TarWriter(sinkInto(parts));
      const written = files.map(([segments, size], i) => ({
        path: `${i}/${segments.join("/")}`,
        size,
      }));
      for (const { path, size } of written) {
        await writer.add({ path, size }, new Uint8Array(size).fill(size % 251));
      }
      await writer.end();
      const read: { path: string; size: number }[] = [];
      for await (const entry of readTar(streamOf(parts))) {
        let size = 0;
        for await (const chunk of entry.body()) size += chunk.length;
        read.push({ path: entry.path, size });
      }
      assert.deepEqual(read, written);
    },
    { allowed: () => false, scale: 0.25 },
  );
});

Deno.test("fuzz: parseBundleHeader() reads a header or throws its own Error, and reads bundleHeader()'s output back", () => {
  const oid = (c: string) => c.repeat(40);
  const header = bundleHeader({
    refs: [
      { ref: "refs/exps/ab/cdef/exp-1", oid: oid("a") },
      { ref: "refs/exps/ab/cdef/exp-2", oid: oid("b") },
    ],
    prerequisites: [oid("c")],
  });
  const sample = new Uint8Array([...header, 0x50, 0x41, 0x43, 0x4b]);
  fuzzTarget(
    "git bundle header",
    mutatedBytes([
      sample,
      new TextEncoder().encode(`# v3 git bundle\n@object-format=sha1\n${oid("d")} refs/x\n\nPACK`),
    ], ["\n\n", "@filter=blob:none", "-", "# v2 git bundle\n", " "]),
    parseBundleHeader,
    { allowed: isExactly(Error) },
  );
  const parsed = parseBundleHeader(sample);
  assert.deepEqual(parsed.prerequisites, [oid("c")]);
  assert.equal(parsed.refs.length, 2);
  assert.equal(parsed.packOffset, header.length);
});

Deno.test("malformed percent escapes in a remote URL's user, password or path are kept as written, not a crash", () => {
  const http = parseHttpRemote("https://%user:p%zzw@example.com/dvc", {});
  assert.equal(http.authHeaders["authorization"], `Basic ${btoa("%user:p%zzw")}`);
  const credential = credentialFor(new URL("https://%e9%@example.com/r%ff.git"));
  assert.deepEqual([credential.username, credential.path], ["%e9%", "r%ff.git"]);
  assert.equal(percentDecode("a%20b%zz%c3%a9%"), "a b%zzé%");
});
