import * as fs from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import git from "isomorphic-git";
import { formatExpRef } from "../../lib/core/exp_ref.ts";
import { pyFloatRepr } from "../../lib/dvc/interpolate.ts";
import { objectKey } from "../../lib/dvc/object_layout.ts";
import { hashBytes } from "../../lib/util/object_hasher.ts";
import { allBytes, binaryChunks, csvText, utf8 } from "./content.ts";
import * as files from "./dvc_files.ts";
import {
  type GitFile,
  type Identity,
  makeBareWith,
  writeCommit,
  writeFilesTree,
} from "./git_writer.ts";
import { ObjectWriter, type WrittenObject } from "./object_writer.ts";

/** Sizes and counts of the generated project. */
export interface SampleOptions {
  /** Files under `data_out/shards/` (besides the fixed special files). Default 8. */
  files?: number;
  /** Bytes of each shard. Default 64. */
  fileSize?: number;
  /** Bytes of `model.bin`. Default 54. */
  bigFile?: number;
  /** Experiments per baseline. Default 2. */
  experiments?: number;
  /** Give every commit the same `model.bin` (saves disk for big benchmarks). Default false. */
  sameBigFile?: boolean;
  /** Name experiments `exp-<n>` on both baselines (ambiguous names, as the fixture's `exp-a`). Default false: `b1-exp-<n>`, `b2-exp-<n>`. */
  sharedNames?: boolean;
}

/** One generated commit. */
export interface SampleCommit {
  sha: string;
  lr: string;
  /** Sorted object keys (`files/md5/…`) a push of this commit uploads to an empty remote. */
  objects: string[];
}

/** One generated experiment. */
export interface SampleExperiment extends SampleCommit {
  name: string;
  ref: string;
  baseline: string;
}

/** Where everything went and what it contains. */
export interface SampleInfo {
  root: string;
  repo: string;
  gitDir: string;
  originGit: string;
  dvcStore: string;
  cacheDir: string;
  /** B1 then B2 (`main`, `HEAD`). */
  baselines: SampleCommit[];
  experiments: SampleExperiment[];
  /** Objects in `.dvc/cache` and their total bytes. */
  cacheObjects: number;
  cacheBytes: number;
  options: Required<SampleOptions>;
}

const AUTHOR: Identity = { name: "Fixture Author", email: "author@fixtures.invalid" };
const COMMITTER: Identity = { name: "Fixture Committer", email: "committer@fixtures.invalid" };
const DAY = 86400;
const SHARD_BATCH = 32;
const T0 = 1704067200; // 2024-01-01T00:00:00Z

interface State {
  tag: string;
  lr: string;
  rows: number;
  /** Shard index → tag of the state whose content it has. */
  shardTag: (i: number) => string;
  /** Seed of model.bin. */
  modelSeed: string;
}

/**
 * Builds a DVC project like the basic fixture under `outDir` without DVC or
 * the git binary: `repo/` (work tree at baseline 2, `.git`, `.dvc/cache`),
 * `origin.git/` (bare, `main` only) and an empty DVC remote `dvcstore/`.
 *
 * @example
 * const info = await generateSample("/tmp/s", { files: 1000, fileSize: 4096, bigFile: 200 << 20 });
 */
export async function generateSample(
  outDir: string,
  options: SampleOptions = {},
): Promise<SampleInfo> {
  const opts: Required<SampleOptions> = {
    files: options.files ?? 8,
    fileSize: options.fileSize ?? 64,
    bigFile: options.bigFile ?? 54,
    experiments: options.experiments ?? 2,
    sameBigFile: options.sameBigFile ?? false,
    sharedNames: options.sharedNames ?? false,
  };
  const root = resolve(outDir);
  await mkdir(root, { recursive: true });
  if ((await readdir(root)).length > 0) {
    throw new Error(`'${root}' is not empty; choose a new folder.`);
  }
  const repo = join(root, "repo");
  const gitDir = join(repo, ".git");
  const cacheDir = join(repo, ".dvc", "cache");
  const info: SampleInfo = {
    root,
    repo,
    gitDir,
    originGit: join(root, "origin.git"),
    dvcStore: join(root, "dvcstore"),
    cacheDir,
    baselines: [],
    experiments: [],
    cacheObjects: 0,
    cacheBytes: 0,
    options: opts,
  };
  await mkdir(info.dvcStore);
  await mkdir(cacheDir, { recursive: true });
  await git.init({ fs, dir: repo, defaultBranch: "main" });
  const writer = new ObjectWriter(cacheDir);
  const memo = new Map<string, WrittenObject>();
  const width = String(Math.max(opts.files - 1, 0)).length;
  const shardPath = (i: number) => `shards/part-${String(i).padStart(Math.max(width, 2), "0")}.csv`;
  const model = (tag: string) => (opts.sameBigFile ? "model:shared" : `model:${tag}`);

  const b1: State = { tag: "b1", lr: "0.1", rows: 3, shardTag: () => "b1", modelSeed: model("b1") };
  const b2: State = {
    tag: "b2",
    lr: "0.1",
    rows: 5,
    shardTag: (i) => (i % 5 === 0 ? "b2" : "b1"),
    modelSeed: model("b2"),
  };

  let time = T0;
  let parent: string[] = [];
  for (const [index, baseline] of [b1, b2].entries()) {
    const isHead = index === 1;
    const made = await writeState(baseline, isHead);
    const sha = await writeCommit(gitDir, {
      tree: made.tree,
      parents: parent,
      message: `baseline ${index + 1}`,
      time,
      author: AUTHOR,
      committer: COMMITTER,
    });
    info.baselines.push({ sha, lr: baseline.lr, objects: made.objects });
    parent = [sha];
    for (let j = 1; j <= opts.experiments; j++) {
      const name = opts.sharedNames ? `exp-${j}` : `${baseline.tag}-exp-${j}`;
      const tag = `${baseline.tag}-${name}`;
      const lr = pyFloatRepr((j + 1) / 10);
      const exp: State = {
        tag,
        lr,
        rows: baseline.rows,
        shardTag: (i) => (i % 10 === (j - 1) % 10 ? tag : baseline.shardTag(i)),
        modelSeed: model(tag),
      };
      const expMade = await writeState(exp, false, made.rawEntry);
      const expSha = await writeCommit(gitDir, {
        tree: expMade.tree,
        parents: [sha],
        message: `dvc: commit experiment ${hashBytes(utf8(`${sha}:${name}`), "md5")}`,
        time: T0 + 2 * DAY + info.experiments.length * 60,
        author: AUTHOR,
        committer: COMMITTER,
      });
      const ref = formatExpRef(sha, name);
      await git.writeRef({ fs, gitdir: gitDir, ref, value: expSha, force: true });
      info.experiments.push({
        name,
        ref,
        sha: expSha,
        baseline: sha,
        lr,
        objects: expMade.objects,
      });
    }
    time += DAY;
  }

  const head = info.baselines[1]!.sha;
  await git.writeRef({ fs, gitdir: gitDir, ref: "refs/heads/main", value: head, force: true });
  await git.writeRef({
    fs,
    gitdir: gitDir,
    ref: "refs/remotes/origin/main",
    value: head,
    force: true,
  });
  await git.writeRef({
    fs,
    gitdir: gitDir,
    ref: "refs/exps/exec/EXEC_HEAD",
    value: head,
    force: true,
  });
  // isomorphic-git's own defaults (filemode/ignorecase off) would differ from `git init` on Linux.
  await writeFile(join(gitDir, "config"), REPO_GIT_CONFIG);
  await writeFile(join(repo, ".dvc", "config.local"), files.DVC_CONFIG_LOCAL);
  await git.add({ fs, dir: repo, filepath: [...trackedPaths] });
  await makeBareWith(gitDir, info.originGit, "main", head);
  info.cacheObjects = writer.keys.size;
  info.cacheBytes = writer.bytes;
  return info;

  /** Generates content once per seed; later states only reuse the oid (unless it must reach the work tree). */
  async function remembered(
    seed: string,
    workspacePath: string | undefined,
    make: () => Promise<WrittenObject>,
  ): Promise<WrittenObject> {
    const known = memo.get(seed);
    if (known !== undefined) {
      if (workspacePath !== undefined) await writer.copyOut(known.oid, workspacePath);
      return known;
    }
    const made = await make();
    memo.set(seed, made);
    return made;
  }

  /**
   * Writes one state's outputs into the cache (and, for HEAD, the work
   * tree), and its Git tree. `raw` reuses the baseline's `data/raw.csv`.
   */
  async function writeState(
    state: State,
    toWorkspace: boolean,
    raw?: files.LockEntry,
  ): Promise<{ tree: string; objects: string[]; rawEntry: files.LockEntry }> {
    const ws = (path: string) => (toWorkspace ? join(repo, path) : undefined);
    const pushable = new Set<string>();
    const keep = (o: WrittenObject) => (pushable.add(objectKey(o.oid, "md5")), o);

    let rawEntry = raw;
    if (rawEntry === undefined) {
      const rows = Array.from({ length: state.rows }, (_, i) => `${i + 1},${(i + 1) * 2}\n`).join(
        "",
      );
      const written = await writer.putBytes(utf8(`x,y\n${rows}`), ws("data/raw.csv"));
      rawEntry = { path: "data/raw.csv", md5: written.oid, size: written.size };
    } else if (toWorkspace) {
      throw new Error("experiments are never checked out");
    }
    pushable.add(objectKey(rawEntry.md5, "md5"));

    const modelBin = keep(
      await remembered(
        `model:${state.modelSeed}`,
        ws("model.bin"),
        () => writer.putStream(binaryChunks(state.modelSeed, opts.bigFile), ws("model.bin")),
      ),
    );
    const localOnly = await writer.putBytes(
      utf8(`local only, never pushed (${state.tag})\n`),
      ws("local_only.txt"),
    );

    const members: { md5: string; relpath: string }[] = [];
    let dirSize = 0;
    const addMember = async (relpath: string, content: Uint8Array) => {
      const o = keep(await writer.putBytes(content, ws(`data_out/${relpath}`)));
      members.push({ md5: o.oid, relpath });
      dirSize += o.size;
    };
    for (const [relpath, content] of specialFiles(state)) await addMember(relpath, content);
    // Shards in small parallel batches: many tiny files are bound by syscall latency.
    for (let start = 0; start < opts.files; start += SHARD_BATCH) {
      const batch = Array.from(
        { length: Math.min(SHARD_BATCH, opts.files - start) },
        (_, k) => start + k,
      );
      const written = await Promise.all(batch.map((i) => {
        const seed = `shard:${state.shardTag(i)}:${i}`;
        const relpath = shardPath(i);
        return remembered(
          seed,
          ws(`data_out/${relpath}`),
          () => writer.putBytes(csvText(seed, opts.fileSize), ws(`data_out/${relpath}`)),
        ).then((o) => ({ o: keep(o), relpath }));
      }));
      for (const { o, relpath } of written) {
        members.push({ md5: o.oid, relpath });
        dirSize += o.size;
      }
    }
    const dirOid = keep(await writer.putManifest(members)).oid;

    const metrics = metricsJson(state);
    const trainPy = utf8(files.TRAIN_PY);
    const lock = files.lockFileText({
      train: {
        cmd: "python3 train.py",
        deps: [rawEntry, { path: "train.py", md5: hashBytes(trainPy), size: trainPy.length }],
        params: { "params.yaml": { epochs: "3", lr: state.lr } },
        outs: [
          { path: "data_out", md5: dirOid, size: dirSize, nfiles: members.length },
          { path: "local_only.txt", md5: localOnly.oid, size: localOnly.size },
          { path: "metrics.json", md5: hashBytes(metrics), size: metrics.length },
          { path: "model.bin", md5: modelBin.oid, size: modelBin.size },
        ],
      },
    });
    const tracked = new Map<string, GitFile>([
      [".dvc/.gitignore", { content: utf8(files.DVC_GITIGNORE) }],
      [".dvc/config", { content: utf8(files.DVC_CONFIG) }],
      [".dvcignore", { content: utf8(files.DVCIGNORE) }],
      [".gitignore", { content: utf8(files.ROOT_GITIGNORE) }],
      ["data/.gitignore", { content: utf8(files.DATA_GITIGNORE) }],
      ["data/raw.csv.dvc", { content: utf8(files.dvcFileText({ ...rawEntry, path: "raw.csv" })) }],
      ["dvc.lock", { content: utf8(lock) }],
      ["dvc.yaml", { content: utf8(files.DVC_YAML) }],
      ["metrics.json", { content: metrics }],
      ["params.yaml", { content: utf8(`lr: ${state.lr}\nepochs: 3\n`) }],
      ["train.py", { content: trainPy }],
    ]);
    if (toWorkspace) {
      for (const [path, file] of tracked) {
        await mkdir(join(repo, path, ".."), { recursive: true });
        await writeFile(join(repo, path), file.content);
      }
    }
    return { tree: await writeFilesTree(gitDir, tracked), objects: [...pushable].sort(), rawEntry };
  }
}

/** `.git/config` as `git init` + `git remote add` + `git push -u` leave it on Linux. */
const REPO_GIT_CONFIG = `[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
\tlogallrefupdates = true
[remote "origin"]
\turl = ../origin.git
\tfetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
\tremote = origin
\tmerge = refs/heads/main
`;

const trackedPaths = [
  ".dvc/.gitignore",
  ".dvc/config",
  ".dvcignore",
  ".gitignore",
  "data/.gitignore",
  "data/raw.csv.dvc",
  "dvc.lock",
  "dvc.yaml",
  "metrics.json",
  "params.yaml",
  "train.py",
];

/** Fixed files of `data_out/` that exercise names, sizes and the `.dir` sort rule. */
function specialFiles(state: State): [string, Uint8Array][] {
  return [
    ["README.txt", utf8("Sample directory output generated for dxp.\n")],
    ["summary.txt", utf8(`variant: ${state.tag}\nlr: ${state.lr}\nrows: ${state.rows}\n`)],
    ["empty.txt", new Uint8Array(0)],
    ["binary.dat", allBytes()],
    ["crlf.txt", utf8("line one\r\nline two\r\n")],
    ["with space.txt", utf8("a file name with a space\n")],
    ["résumé über-名前.txt", utf8("a non-ASCII file name\n")],
    ["nested-a.txt", utf8("sorts before nested/\n")],
    ["nested/level1.txt", utf8("level 1\n")],
    ["nested/deep/level2.txt", utf8("level 2\n")],
    ["nested/deep/deeper/level3.txt", utf8("level 3\n")],
    ["nested0.txt", utf8("sorts after nested/\n")],
  ];
}

function metricsJson(state: State): Uint8Array {
  const lr = Number(state.lr);
  const acc = Number((1 - 1 / (2 + lr * 10 * state.rows)).toFixed(6));
  const loss = Number((1 - acc).toFixed(6));
  return utf8(
    `{"acc": ${pyFloatRepr(acc)}, "loss": ${pyFloatRepr(loss)}, "rows": ${state.rows}}\n`,
  );
}
