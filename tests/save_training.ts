/**
 * The `save` fixture's "training ran without DVC" step (tests/fixtures
 * README §10): `params.yaml` rewritten, then prepare.py, train.py and
 * evaluate.py run by hand. The three scripts are ported here so that the
 * tests need no Python; the results are checked against the md5s the
 * goldens record.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pyFloatRepr } from "../lib/dvc/interpolate.ts";

/** The parameters a golden's setup line names (`lr` as written, e.g. `0.25`). */
export interface TrainingParams {
  scale?: number;
  lr?: string;
  epochs?: number;
}

/** Rewrites params.yaml as the goldens' setup did and runs the three stages by hand. */
export function trainByHand(repo: string, params: TrainingParams): void {
  const scale = params.scale ?? 2;
  const lr = params.lr ?? "0.1";
  const epochs = params.epochs ?? 3;
  writeFileSync(
    join(repo, "params.yaml"),
    `scale: ${scale}\nlr: ${lr}\nepochs: ${epochs}\neval:\n  threshold: 0.5\n`,
  );
  prepare(repo, scale);
  train(repo, Number(lr), epochs);
  evaluate(repo, 0.5);
}

function write(repo: string, path: string, data: string | Uint8Array): void {
  const abs = join(repo, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, data);
}

function prepare(repo: string, scale: number): void {
  const rows = readFileSync(join(repo, "data/raw.csv"), "utf8").split(/\r?\n/).slice(1)
    .filter((r) => r !== "").map((r) => r.split(","));
  write(repo, "features/README.txt", "features made by prepare.py\n");
  write(repo, "features/with space.txt", "a file name with a space\n");
  write(repo, "features/donn\u00e9es-\u6570\u636e.txt", "non-ASCII file name\n");
  write(
    repo,
    "features/nested/rows.csv",
    "id,value\n" + rows.map(([i, v]) => `${i},${Number(v) * scale}\n`).join(""),
  );
  const total = rows.reduce((sum, [, v]) => sum + Number(v), 0) * scale;
  write(repo, "features/nested/deeper/stats.txt", `rows=${rows.length} total=${total}\n`);
  write(repo, "features/scale.txt", `scale=${scale}\n`);
}

function train(repo: string, lr: number, epochs: number): void {
  const rows = readFileSync(join(repo, "features/nested/rows.csv"));
  const digest = createHash("sha256")
    .update(Buffer.concat([rows, Buffer.from(`${pyFloatRepr(lr)}:${epochs}`)]))
    .digest();
  const packed = Buffer.alloc(12);
  packed.writeDoubleLE(lr, 0);
  packed.writeUInt32LE(epochs, 8);
  write(
    repo,
    "model.bin",
    Buffer.concat([Buffer.from("TOYMODEL\x00\x02", "latin1"), packed, digest]),
  );
}

function evaluate(repo: string, threshold: number): void {
  const model = readFileSync(join(repo, "model.bin"));
  const lr = model.readDoubleLE(10);
  const epochs = model.readUInt32LE(18);
  const score = Number((1.0 - 1.0 / (1.0 + lr * epochs * 10)).toFixed(6));
  write(
    repo,
    "metrics.json",
    `{"passed": ${score >= threshold}, "score": ${pyFloatRepr(score)}, "threshold": ${
      pyFloatRepr(threshold)
    }}\n`,
  );
}
