/**
 * One world of the fault campaign: a generated DVC project (scripts/sample)
 * with its origin.git, a DVC remote of one kind (a local folder, Ceph RGW
 * behind the fault proxy, or a folder served by a private sshd), the user's
 * own changes in the work tree, and ways to read back what the remote holds.
 */
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { AwsClient } from "aws4fetch";
import { generateSample, type SampleInfo } from "../sample/generate.ts";

export type RemoteKind = "local" | "rgw" | "sftp";

/** A DVC remote as the campaign sees it: its config, its environment, its objects. */
export interface Remote {
  readonly kind: RemoteKind;
  /** The `['remote "store"']` section for `.dvc/config.local`. */
  readonly section: string;
  readonly env: Readonly<Record<string, string>>;
  /** Object keys (`files/md5/ab/cdef…`) the remote holds. */
  keys(): Promise<string[]>;
  read(key: string): Promise<Uint8Array>;
  /** Bytes stored (what a SIGKILL threshold counts), when cheap to know. */
  bytes(): number;
}

/** Services shared by every world of a campaign (started once). */
export interface Services {
  /** RGW endpoint behind the fault proxy, its direct endpoint and keys. */
  readonly rgw?: {
    readonly proxyEndpoint: string;
    readonly endpoint: string;
    readonly accessKey: string;
    readonly secretKey: string;
    newBucket(): Promise<string>;
  };
  /** `ssh://…` URL of a local folder through the private sshd, and its ssh command. */
  readonly sshd?: { url(path: string): string; sshCommand: string };
}

export interface World {
  readonly root: string;
  readonly sample: SampleInfo;
  readonly remote: Remote;
  /** The environment dxp and git run with. */
  readonly env: Record<string, string>;
}

/** Sample size: small enough for hundreds of runs, big enough to be cut in the middle. */
export const SAMPLE = { files: 40, fileSize: 8192, bigFile: 2 << 20, experiments: 1 } as const;

export const USER_NOTES = "user-notes.md";
export const USER_NOTES_TEXT = "notes the user keeps beside the project\n";
export const USER_TRAIN = "# the user's own edit, not committed\n";

/** Every regular file under `dir` as a sorted list of relative paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string) => {
    let names: string[];
    try {
      names = readdirSync(current);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(current, name);
      let stat;
      try {
        stat = statSync(path);
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Total bytes of the regular files under `dir`. */
export function bytesUnder(dir: string): number {
  let total = 0;
  for (const rel of filesUnder(dir)) {
    try {
      total += statSync(join(dir, rel)).size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

export function md5(bytes: Uint8Array): string {
  return createHash("md5").update(bytes).digest("hex");
}

function localRemote(dir: string): Remote {
  return {
    kind: "local",
    section: `['remote "store"']\n    url = ${dir}\n`,
    env: {},
    keys: () => Promise.resolve(filesUnder(dir).filter((k) => k.startsWith("files/"))),
    read: (key) => Promise.resolve(readFileSync(join(dir, key))),
    bytes: () => bytesUnder(dir),
  };
}

function sftpRemote(dir: string, sshd: NonNullable<Services["sshd"]>): Remote {
  return {
    ...localRemote(dir),
    kind: "sftp",
    section: `['remote "store"']\n    url = ${sshd.url(dir)}\n`,
    env: { DXP_SSH_COMMAND: sshd.sshCommand },
  };
}

async function rgwRemote(rgw: NonNullable<Services["rgw"]>): Promise<Remote> {
  const bucket = await rgw.newBucket();
  const client = new AwsClient({
    accessKeyId: rgw.accessKey,
    secretAccessKey: rgw.secretKey,
    service: "s3",
    region: "us-east-1",
    retries: 0,
  });
  const base = `${rgw.endpoint}/${bucket}`;
  let known = 0;
  return {
    kind: "rgw",
    section:
      `['remote "store"']\n    url = s3://${bucket}/dvc\n    endpointurl = ${rgw.proxyEndpoint}\n`,
    env: { AWS_ACCESS_KEY_ID: rgw.accessKey, AWS_SECRET_ACCESS_KEY: rgw.secretKey },
    async keys() {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const query = new URLSearchParams({ "list-type": "2", prefix: "dvc/" });
        if (token !== undefined) query.set("continuation-token", token);
        const text = await (await client.fetch(`${base}?${query}`)).text();
        for (const m of text.matchAll(/<Key>([^<]*)<\/Key>/g)) {
          keys.push(m[1]!.slice("dvc/".length));
        }
        token = /<IsTruncated>true<\/IsTruncated>/.test(text)
          ? /<NextContinuationToken>([^<]*)</.exec(text)?.[1]
          : undefined;
      } while (token !== undefined);
      known = keys.length;
      return keys.filter((k) => k.startsWith("files/")).sort();
    },
    async read(key) {
      const response = await client.fetch(`${base}/dvc/${key}`);
      if (!response.ok) throw new Error(`GET ${key}: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    },
    // Only a count is cheap over S3: thresholds for RGW runs count requests instead.
    bytes: () => known,
  };
}

/** Runs git in `cwd`; throws with its stderr on failure. */
export function git(args: string[], cwd: string, env: Record<string, string>): string {
  return execFileSync("git", args, {
    cwd,
    env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * A fresh world under `root` (an empty folder): the sample, its remote
 * configured as `store` in `.dvc/config.local`, and the user's changes (an
 * untracked notes file, an uncommitted edit of train.py).
 */
export async function makeWorld(
  root: string,
  kind: RemoteKind,
  services: Services,
  baseEnv: Record<string, string>,
): Promise<World> {
  const sample = await generateSample(join(root, "s"), SAMPLE);
  let remote: Remote;
  if (kind === "local") remote = localRemote(sample.dvcStore);
  else if (kind === "sftp") remote = sftpRemote(sample.dvcStore, services.sshd!);
  else remote = await rgwRemote(services.rgw!);
  const env = { ...baseEnv, ...remote.env };
  writeFileSync(join(sample.repo, ".dvc", "config.local"), remote.section);
  addUserChanges(sample.repo);
  return { root, sample, remote, env };
}

/** The user's own work in a work tree: it must survive whatever happens. */
export function addUserChanges(repo: string): void {
  writeFileSync(join(repo, USER_NOTES), USER_NOTES_TEXT);
  const train = join(repo, "train.py");
  writeFileSync(train, readFileSync(train, "utf8") + USER_TRAIN);
}

/** A clone of origin.git at `<root>/clone` using the world's remote, with the user's changes. */
export function cloneOf(world: World, dir = join(world.root, "clone")): string {
  mkdirSync(dir, { recursive: true });
  git(["clone", "-q", world.sample.originGit, dir], world.root, world.env);
  writeFileSync(join(dir, ".dvc", "config.local"), world.remote.section);
  addUserChanges(dir);
  return dir;
}

/** A temp file, or a file in a folder still under its temp name: no final name, no object. */
export const TEMP_NAME = /(^|\/)\.[^/]*\.tmp(\/|$)/;
