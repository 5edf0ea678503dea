import { readFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import type { FixtureName } from "./tmp.ts";

/** One golden file of ../fixtures/golden: exit code, stdout, stderr and the "after" sections. */
export interface Golden {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  sections: Map<string, string>;
}

/** Reads `tests/fixtures/golden/<fixture>/<name>.txt`. */
export function readGolden(fixture: FixtureName, name: string): Golden {
  const path = new URL(`../fixtures/golden/${fixture}/${name}.txt`, import.meta.url).pathname;
  const text = readFileSync(path, "utf8");
  const command = /^# command: (.*)$/m.exec(text)?.[1] ?? "";
  const sections = new Map<string, string>();
  const re = /^--- (.+?)(?: \((\d+) bytes\))? ---\n/gm;
  const heads: { title: string; start: number; bodyStart: number; bytes?: number }[] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const head: { title: string; start: number; bodyStart: number; bytes?: number } = {
      title: m[1]!,
      start: m.index,
      bodyStart: m.index + m[0].length,
    };
    if (m[2] !== undefined) head.bytes = Number(m[2]);
    heads.push(head);
  }
  heads.forEach((head, i) => {
    const end = heads[i + 1]?.start ?? text.length;
    let body = text.slice(head.bodyStart, end);
    if (head.bytes !== undefined) {
      body = Buffer.from(body, "utf8").subarray(0, head.bytes).toString("utf8");
    }
    sections.set(head.title, body);
  });
  return {
    command,
    exitCode: Number((sections.get("exit code") ?? "0").trim()),
    stdout: sections.get("stdout") ?? "",
    stderr: sections.get("stderr") ?? "",
    sections,
  };
}

/** Lines of a text as a sorted list (DVC's line order comes from Python sets). */
export function sortedLines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "").sort();
}
