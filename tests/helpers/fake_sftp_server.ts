/**
 * An SFTP version 3 server on stdin/stdout serving a folder of this machine,
 * started in place of ssh through DXP_SSH_COMMAND (it ignores ssh's
 * arguments). Honest by default; its mode, from DXP_FAKE_SFTP_MODE, makes it
 * lie the way a hostile server could:
 *
 * - `names`: every directory listing also holds entries named `../escape`,
 *   `sub/../..`, `a/b`, `.`, `..` and `./` (folders, that loop back or climb out);
 * - `reorder`: answers are held and sent in reverse order, a batch at a time.
 *
 *   DXP_SSH_COMMAND="deno run -A tests/helpers/fake_sftp_server.ts" DXP_FAKE_SFTP_MODE=reorder
 */
import * as fs from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { encodePacket, type Field, FX, FXP, PacketReader } from "../../lib/store/sftp/packet.ts";

const mode = process.env["DXP_FAKE_SFTP_MODE"] ?? "honest";
const handles = new Map<number, { fd?: number; dir?: string[]; path: string }>();
let nextHandle = 1;
const held: Uint8Array[] = [];

function handleBytes(n: number): Uint8Array {
  return new TextEncoder().encode(`h${n}`);
}

function handleOf(bytes: Uint8Array): number {
  return Number(new TextDecoder().decode(bytes).slice(1));
}

function attrsOf(stat: fs.Stats) {
  return { size: stat.size, mode: stat.mode };
}

function status(id: number, code: number, message = ""): Uint8Array {
  return encodePacket(FXP.STATUS, id, [{ u32: code }, { str: message }, { str: "" }]);
}

function errnoStatus(id: number, error: unknown): Uint8Array {
  const code = (error as { code?: string }).code;
  const fx = code === "ENOENT"
    ? FX.NO_SUCH_FILE
    : code === "EACCES"
    ? FX.PERMISSION_DENIED
    : FX.FAILURE;
  return status(id, fx, String((error as Error).message));
}

function send(packet: Uint8Array): void {
  if (mode === "reorder") {
    held.push(packet);
    return;
  }
  process.stdout.write(packet);
}

/** Sends held answers newest first (the client must match them by id). */
function flushHeld(): void {
  const out = held.splice(0).reverse();
  for (const packet of out) process.stdout.write(packet);
}

function answer(type: number, body: Uint8Array): void {
  const r = new PacketReader(body);
  if (type === FXP.INIT) {
    process.stdout.write(encodePacket(FXP.VERSION, undefined, [
      { u32: 3 },
      { str: "posix-rename@openssh.com" },
      { str: "1" },
    ]));
    return;
  }
  const id = r.u32();
  try {
    switch (type) {
      case FXP.REALPATH: {
        const path = r.text();
        const real = path === "." ? process.cwd() : path;
        return send(
          encodePacket(FXP.NAME, id, [{ u32: 1 }, { str: real }, { str: real }, { attrs: {} }]),
        );
      }
      case FXP.STAT:
      case FXP.LSTAT: {
        const stat = fs.statSync(r.text());
        return send(encodePacket(FXP.ATTRS, id, [{ attrs: attrsOf(stat) }]));
      }
      case FXP.FSTAT: {
        const h = handles.get(handleOf(r.bytes()))!;
        return send(encodePacket(FXP.ATTRS, id, [{ attrs: attrsOf(fs.fstatSync(h.fd!)) }]));
      }
      case FXP.OPEN: {
        const path = r.text();
        const flags = r.u32();
        const c = fs.constants;
        let open = flags & 0x02 ? (flags & 0x01 ? c.O_RDWR : c.O_WRONLY) : c.O_RDONLY;
        if (flags & 0x08) open |= c.O_CREAT;
        if (flags & 0x10) open |= c.O_TRUNC;
        if (flags & 0x20) open |= c.O_EXCL;
        const fd = fs.openSync(path, open, 0o644);
        const n = nextHandle++;
        handles.set(n, { fd, path });
        return send(encodePacket(FXP.HANDLE, id, [{ str: handleBytes(n) }]));
      }
      case FXP.OPENDIR: {
        const path = r.text();
        const names = fs.readdirSync(path);
        const n = nextHandle++;
        handles.set(n, { dir: [".", "..", ...names], path });
        return send(encodePacket(FXP.HANDLE, id, [{ str: handleBytes(n) }]));
      }
      case FXP.READDIR: {
        const h = handles.get(handleOf(r.bytes()))!;
        const names = h.dir!.splice(0);
        if (names.length === 0) return send(status(id, FX.EOF));
        const fields: Field[] = [];
        let count = 0;
        const add = (name: string, mode: number, size = 0) => {
          count++;
          fields.push({ str: name }, { str: name }, { attrs: { size, mode } });
        };
        for (const name of names) {
          if (name === "." || name === "..") {
            add(name, 0o40755);
            continue;
          }
          const stat = fs.statSync(join(h.path, name));
          add(name, stat.mode, stat.size);
        }
        if (mode === "names") {
          for (const name of ["../escape", "sub/../..", "a/b", "./", "x\0y"]) add(name, 0o40755);
          add("../../etc/passwd", 0o100644, 10);
        }
        return send(encodePacket(FXP.NAME, id, [{ u32: count }, ...fields]));
      }
      case FXP.READ: {
        const h = handles.get(handleOf(r.bytes()))!;
        const offset = r.u64();
        const length = r.u32();
        const buffer = new Uint8Array(length);
        const got = fs.readSync(h.fd!, buffer, 0, length, offset);
        if (got === 0) return send(status(id, FX.EOF));
        return send(encodePacket(FXP.DATA, id, [{ str: buffer.subarray(0, got) }]));
      }
      case FXP.WRITE: {
        const h = handles.get(handleOf(r.bytes()))!;
        const offset = r.u64();
        const data = r.bytes();
        fs.writeSync(h.fd!, data, 0, data.length, offset);
        return send(status(id, FX.OK));
      }
      case FXP.CLOSE: {
        const n = handleOf(r.bytes());
        const h = handles.get(n);
        if (h?.fd !== undefined) fs.closeSync(h.fd);
        handles.delete(n);
        return send(status(id, FX.OK));
      }
      case FXP.MKDIR:
        fs.mkdirSync(r.text());
        return send(status(id, FX.OK));
      case FXP.REMOVE:
        fs.unlinkSync(r.text());
        return send(status(id, FX.OK));
      case FXP.RMDIR:
        fs.rmdirSync(r.text());
        return send(status(id, FX.OK));
      case FXP.SETSTAT:
      case FXP.FSETSTAT:
        return send(status(id, FX.OK));
      case FXP.RENAME: {
        const from = r.text();
        const to = r.text();
        if (fs.existsSync(to)) return send(status(id, FX.FAILURE, "exists"));
        fs.renameSync(from, to);
        return send(status(id, FX.OK));
      }
      case FXP.EXTENDED: {
        const name = r.text();
        if (name === "posix-rename@openssh.com") {
          fs.renameSync(r.text(), r.text());
          return send(status(id, FX.OK));
        }
        return send(status(id, FX.OP_UNSUPPORTED));
      }
    }
    send(status(id, FX.OP_UNSUPPORTED));
  } catch (error) {
    send(errnoStatus(id, error));
  }
}

let buffer = new Uint8Array(0);
process.stdin.on("data", (chunk: Uint8Array) => {
  const merged = new Uint8Array(buffer.length + chunk.length);
  merged.set(buffer);
  merged.set(chunk, buffer.length);
  buffer = merged;
  while (buffer.length >= 4) {
    const length = new DataView(buffer.buffer, buffer.byteOffset).getUint32(0);
    if (buffer.length < 4 + length) break;
    const packet = buffer.subarray(4, 4 + length);
    buffer = buffer.subarray(4 + length);
    answer(packet[0]!, packet.subarray(1));
  }
  // Everything that arrived in this chunk is answered, newest first.
  if (mode === "reorder") flushHeld();
});
process.stdin.on("end", () => process.exit(0));
