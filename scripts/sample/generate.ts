import * as fs from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import git from "isomorphic-git";
import { formatExpRef } from "../../lib/core/exp_ref.ts";
import { pyFloatRepr } from "../../lib/dvc/interpolate.ts";
import { objectKey } from "../../lib/core/object_key.ts";
import { hashBytes } from "../../lib/util/object_hasher.ts";
import { binaryChunks, csvText, utf8 } from "./content.ts";
import * as files from "./dvc_files.ts";
import {
  type Identity,
  makeBareWith,
  REPO_GIT_CONFIG,
  writeCommit,
  writeFilesTree,
} from "./git_writer.ts";
import { ObjectWriter, type WrittenObject } from "./object_writer.ts";
import { specialFiles, type State, trackedFiles, trackedPaths } from "./state.ts";
import type { SampleInfo, SampleOptions } from "./types.ts";

export type { SampleCommit, SampleExperiment, SampleInfo, SampleOptions } from "./types.ts";

const AUTHOR: Identity = { name: "Fixture Author", email: "author@fixtures.invalid" };
const COMMITTER: Identity = { name: "Fixture Committer", email: "committer@fixtures.invalid" };
const DAY = 86400;
const SHARD_BATCH = 32;
const T0 = 1704067200; // 2024-01-01T00:00:00Z

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

    const tracked = trackedFiles(state, rawEntry, {
      dataOut: { path: "data_out", md5: dirOid, size: dirSize, nfiles: members.length },
      localOnly: { path: "local_only.txt", md5: localOnly.oid, size: localOnly.size },
      model: { path: "model.bin", md5: modelBin.oid, size: modelBin.size },
    });
    if (toWorkspace) {
      for (const [path, file] of tracked) {
        await mkdir(join(repo, path, ".."), { recursive: true });
        await writeFile(join(repo, path), file.content);
      }
    }
    return { tree: await writeFilesTree(gitDir, tracked), objects: [...pushable].sort(), rawEntry };
  }
}
