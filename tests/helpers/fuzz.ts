/**
 * Property-based fuzzing of dxp's parsers with fast-check. Every target
 * states what a parser may do with hostile bytes: return a value, or throw
 * one of dxp's own errors — never a TypeError, RangeError or a hang, and
 * never a change to Object.prototype. CI runs each target with a fixed seed;
 * `scripts/fuzz.ts --runs N` runs them longer with a fresh seed and prints
 * parsers × runs × failures from the report lines written here.
 *
 * Environment: DXP_FUZZ_RUNS (cases per target, default 200), DXP_FUZZ_SEED
 * (default fixed), DXP_FUZZ_REPORT (a file to append one JSON line per target).
 */
import { concatBytes } from "../../lib/util/bytes.ts";
import { appendFileSync } from "node:fs";
import process from "node:process";
import fc from "fast-check";
import { DxpError } from "../../lib/errors/mod.ts";

export { fc };

/** Seed of every target: fixed unless the fuzz script asks for another. */
export const FUZZ_SEED = Number(process.env["DXP_FUZZ_SEED"] ?? "140014");
/** Cases per target. */
export const FUZZ_RUNS = Number(process.env["DXP_FUZZ_RUNS"] ?? "200");
const REPORT = process.env["DXP_FUZZ_REPORT"];

/** What a target's errors must be: dxp's own. */
export type ErrorCheck = (error: unknown) => boolean;

/** DxpError and its subclasses (lib/errors). */
export const isDxpError: ErrorCheck = (error) => error instanceof DxpError;

/** Errors of an exact class (a parser's own documented error, wrapped by its callers). */
export function isExactly(...classes: (abstract new (...args: never[]) => Error)[]): ErrorCheck {
  return (error) =>
    error instanceof DxpError ||
    classes.some((c) => error instanceof Error && error.constructor === c);
}

/** Thrown when a parser failed in a way it must not: the property fails with it. */
class ForeignError extends Error {}

function protoKeys(): string {
  return Object.getOwnPropertyNames(Object.prototype).sort().join(",");
}
const PROTO_KEYS = protoKeys();

function judge(error: unknown, allowed: ErrorCheck): void {
  if (allowed(error)) return;
  const e = error as Error;
  throw new ForeignError(
    `threw ${e?.constructor?.name ?? typeof error}: ${String(e?.message ?? error).slice(0, 300)}`,
    { cause: error },
  );
}

function checkPrototype(): void {
  if (protoKeys() !== PROTO_KEYS) {
    throw new ForeignError(`Object.prototype was changed: ${protoKeys()}`);
  }
}

interface Tally {
  runs: number;
  /** Cases the parser accepted (the rest threw one of its own errors). */
  accepted: number;
  slowestMs: number;
}

function report(name: string, tally: Tally, failure: unknown): void {
  if (REPORT === undefined) return;
  const line = {
    target: name,
    runs: tally.runs,
    accepted: tally.accepted,
    seed: FUZZ_SEED,
    failed: failure !== undefined,
    slowestMs: Math.round(tally.slowestMs),
    ...(failure === undefined ? {} : { error: String((failure as Error).message).slice(0, 2000) }),
  };
  appendFileSync(REPORT, JSON.stringify(line) + "\n");
}

export interface TargetOptions<T> {
  /** Which errors are the parser's own (default: DxpError). */
  readonly allowed?: ErrorCheck;
  /** Extra check on a returned value (round trips); throw to fail. */
  readonly check?: (input: T, value: unknown) => void;
  /** Fraction of FUZZ_RUNS for this target (slow targets run fewer cases). */
  readonly scale?: number;
  /** Inputs always tried first (crafted cases, known regressions). */
  readonly examples?: readonly T[];
}

function parameters<T>(options: TargetOptions<T>): fc.Parameters<[T]> {
  return {
    seed: FUZZ_SEED,
    numRuns: Math.max(1, Math.round(FUZZ_RUNS * (options.scale ?? 1))),
    ...(options.examples ? { examples: options.examples.map((e) => [e] as [T]) } : {}),
  };
}

/**
 * Runs the synchronous parser `parse` on every input of `input`: it must
 * return (then `check` holds) or throw an allowed error.
 */
export function fuzzTarget<T>(
  name: string,
  input: fc.Arbitrary<T>,
  parse: (value: T) => unknown,
  options: TargetOptions<T> = {},
): void {
  const allowed = options.allowed ?? isDxpError;
  const tally: Tally = { runs: 0, accepted: 0, slowestMs: 0 };
  let failure: unknown;
  try {
    fc.assert(
      fc.property(input, (value) => {
        tally.runs++;
        const started = performance.now();
        let result: unknown;
        let threw = false;
        try {
          result = parse(value);
        } catch (error) {
          threw = true;
          judge(error, allowed);
        } finally {
          tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
          checkPrototype();
        }
        if (!threw) {
          tally.accepted++;
          options.check?.(value, result);
        }
      }),
      parameters(options),
    );
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    report(name, tally, failure);
  }
}

/** {@link fuzzTarget} for asynchronous parsers (stream readers). */
export async function fuzzTargetAsync<T>(
  name: string,
  input: fc.Arbitrary<T>,
  parse: (value: T) => Promise<unknown>,
  options: TargetOptions<T> = {},
): Promise<void> {
  const allowed = options.allowed ?? isDxpError;
  const tally: Tally = { runs: 0, accepted: 0, slowestMs: 0 };
  let failure: unknown;
  try {
    await fc.assert(
      fc.asyncProperty(input, async (value) => {
        tally.runs++;
        const started = performance.now();
        let result: unknown;
        let threw = false;
        try {
          result = await parse(value);
        } catch (error) {
          threw = true;
          judge(error, allowed);
        } finally {
          tally.slowestMs = Math.max(tally.slowestMs, performance.now() - started);
          checkPrototype();
        }
        if (!threw) {
          tally.accepted++;
          options.check?.(value, result);
        }
      }),
      parameters(options),
    );
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    report(name, tally, failure);
  }
}

/** Byte values that break parsers most often: limits, sign bits, separators. */
const INTERESTING = [0, 1, 0x0a, 0x20, 0x30, 0x3d, 0x66, 0x7f, 0x80, 0x81, 0xfe, 0xff];

type Edit =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "repeat"; at: number; length: number; times: number }
  | { kind: "splice"; at: number; token: number };

function editArbitrary(tokens: number): fc.Arbitrary<Edit> {
  const at = fc.nat();
  const kinds: fc.Arbitrary<Edit>[] = [
    fc.record({ kind: fc.constant("flip" as const), at, bit: fc.nat(7) }),
    fc.record({ kind: fc.constant("set" as const), at, byte: fc.constantFrom(...INTERESTING) }),
    fc.record({ kind: fc.constant("set" as const), at, byte: fc.nat(255) }),
    fc.record({
      kind: fc.constant("insert" as const),
      at,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant("delete" as const),
      at,
      length: fc.integer({ min: 1, max: 16 }),
    }),
    fc.record({ kind: fc.constant("truncate" as const), at }),
    fc.record({
      kind: fc.constant("repeat" as const),
      at,
      length: fc.integer({ min: 1, max: 64 }),
      times: fc.integer({ min: 2, max: 40 }),
    }),
  ];
  if (tokens > 0) {
    kinds.push(fc.record({
      kind: fc.constant("splice" as const),
      at,
      token: fc.nat(tokens - 1),
    }));
  }
  return fc.oneof(...kinds);
}

function applyEdit(bytes: Uint8Array, edit: Edit, tokens: readonly Uint8Array[]): Uint8Array {
  const n = bytes.length;
  const at = n === 0 ? 0 : edit.at % (n + 1);
  switch (edit.kind) {
    case "flip": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[at % n] = out[at % n]! ^ (1 << edit.bit);
      return out;
    }
    case "set": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[at % n] = edit.byte;
      return out;
    }
    case "insert":
      return concatBytes([bytes.subarray(0, at), edit.bytes, bytes.subarray(at)]);
    case "splice":
      return concatBytes([bytes.subarray(0, at), tokens[edit.token]!, bytes.subarray(at)]);
    case "delete":
      return concatBytes([bytes.subarray(0, at), bytes.subarray(at + edit.length)]);
    case "truncate":
      return bytes.subarray(0, at);
    case "repeat": {
      const piece = bytes.subarray(at, at + edit.length);
      return concatBytes([
        bytes.subarray(0, at),
        ...Array(edit.times).fill(piece),
        bytes.subarray(at),
      ]);
    }
  }
}

/**
 * Valid `samples` changed by a few random edits (bit flips, interesting
 * bytes, inserted/deleted/repeated runs, `tokens` spliced in, truncation),
 * mixed with plain random bytes. Structure-aware inputs reach the deep
 * branches of a parser that random bytes stop at the first check.
 */
export function mutatedBytes(
  samples: readonly Uint8Array[],
  tokens: readonly (string | Uint8Array)[] = [],
): fc.Arbitrary<Uint8Array> {
  const tokenBytes = tokens.map((t) => typeof t === "string" ? new TextEncoder().encode(t) : t);
  const mutated = fc.record({
    sample: fc.nat(samples.length - 1),
    edits: fc.array(editArbitrary(tokenBytes.length), { minLength: 0, maxLength: 6 }),
  }).map(({ sample, edits }) =>
    edits.reduce((bytes, edit) => applyEdit(bytes, edit, tokenBytes), samples[sample]!)
  );
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }) },
  );
}

/** {@link mutatedBytes} for text formats: the same edits on the UTF-8 bytes, decoded leniently. */
export function mutatedText(
  samples: readonly string[],
  tokens: readonly string[] = [],
): fc.Arbitrary<string> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return fc.oneof(
    {
      weight: 6,
      arbitrary: mutatedBytes(samples.map((s) => encoder.encode(s)), tokens).map((b) =>
        decoder.decode(b)
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  );
}

/** Splits `bytes` into chunks at the given cut points (stream readers must not care). */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))]
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let last = 0;
  for (const p of points) {
    if (p > last) out.push(bytes.subarray(last, p));
    last = Math.max(last, p);
  }
  out.push(bytes.subarray(last));
  return out;
}

/** An async iterable over `chunks`. */
export async function* streamOf(chunks: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/** Text as UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
