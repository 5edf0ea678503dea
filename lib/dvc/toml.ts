/**
 * A TOML 1.0 reader for the files DVC reads as params and metrics: tables,
 * arrays of tables, dotted and quoted keys, inline tables, all string forms,
 * integers (decimal, hex, octal, binary, `_` separators), floats (`inf`,
 * `nan`), booleans, arrays. Dates and times are returned as their text (DVC
 * shows them as strings too). No npm TOML package is available to us, and
 * params files only need this much.
 */

/** A TOML syntax error; the message names the line. */
export class TomlError extends Error {}

type Table = Record<string, unknown>;

/** Tables defined by a header or by a dotted key, which TOML forbids redefining. */
interface State {
  defined: WeakSet<object>;
  /** Inline tables and static arrays: closed to later additions. */
  frozen: WeakSet<object>;
  /** Arrays made by `[[…]]` (only those may be appended to by a header). */
  tableArrays: WeakSet<object>;
}

/** Parses TOML text into plain objects. Throws {@link TomlError}. */
export function parseToml(text: string): Table {
  return new Parser(text.replace(/^\uFEFF/, "")).document();
}

const BARE_KEY = /[A-Za-z0-9_-]/;
const DATETIME =
  /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?|^\d{2}:\d{2}:\d{2}(?:\.\d+)?/;

class Parser {
  private pos = 0;
  private readonly state: State = {
    defined: new WeakSet(),
    frozen: new WeakSet(),
    tableArrays: new WeakSet(),
  };

  constructor(private readonly src: string) {}

  document(): Table {
    const root: Table = {};
    let current = root;
    for (;;) {
      this.skipBlank();
      if (this.pos >= this.src.length) return root;
      if (this.src[this.pos] === "[") current = this.header(root);
      else {
        this.keyValue(current);
        this.endOfLine();
      }
    }
  }

  private header(root: Table): Table {
    const isArray = this.src.startsWith("[[", this.pos);
    this.pos += isArray ? 2 : 1;
    this.skipSpaces();
    const keys = this.key();
    this.skipSpaces();
    if (!this.src.startsWith(isArray ? "]]" : "]", this.pos)) this.fail("expected ']'");
    this.pos += isArray ? 2 : 1;
    this.endOfLine();
    const parent = this.descend(root, keys.slice(0, -1), true);
    const last = keys[keys.length - 1]!;
    const existing = parent[last];
    if (isArray) {
      if (existing === undefined) {
        const list: Table[] = [];
        this.state.tableArrays.add(list);
        parent[last] = list;
      } else if (!Array.isArray(existing) || !this.state.tableArrays.has(existing)) {
        this.fail(`'${keys.join(".")}' is already defined`);
      }
      const table: Table = {};
      (parent[last] as Table[]).push(table);
      this.state.defined.add(table);
      return table;
    }
    if (existing === undefined) {
      const table: Table = {};
      parent[last] = table;
      this.state.defined.add(table);
      return table;
    }
    if (!isTable(existing) || this.state.defined.has(existing) || this.state.frozen.has(existing)) {
      this.fail(`table '${keys.join(".")}' is already defined`);
    }
    this.state.defined.add(existing);
    return existing;
  }

  /** Walks (creating implicit tables) to the table at `keys`; the last element of an array of tables counts. */
  private descend(table: Table, keys: string[], fromHeader: boolean): Table {
    let current = table;
    for (const key of keys) {
      let next = current[key];
      if (next === undefined) {
        next = {};
        current[key] = next;
        if (!fromHeader) this.state.defined.add(next as object);
      } else if (Array.isArray(next) && this.state.tableArrays.has(next) && fromHeader) {
        next = next[next.length - 1];
      }
      if (!isTable(next) || this.state.frozen.has(next)) {
        this.fail(`'${key}' is not a table`);
      }
      current = next;
    }
    return current;
  }

  private keyValue(table: Table): void {
    const keys = this.key();
    this.skipSpaces();
    if (this.src[this.pos] !== "=") this.fail("expected '=' after a key");
    this.pos++;
    this.skipSpaces();
    const value = this.value();
    const parent = this.descend(table, keys.slice(0, -1), false);
    const last = keys[keys.length - 1]!;
    if (Object.hasOwn(parent, last)) this.fail(`key '${keys.join(".")}' is defined twice`);
    parent[last] = value;
  }

  private key(): string[] {
    const keys: string[] = [];
    for (;;) {
      this.skipSpaces();
      const ch = this.src[this.pos];
      if (ch === '"') keys.push(this.basicString());
      else if (ch === "'") keys.push(this.literalString());
      else {
        const start = this.pos;
        while (this.pos < this.src.length && BARE_KEY.test(this.src[this.pos]!)) this.pos++;
        if (start === this.pos) this.fail("expected a key");
        keys.push(this.src.slice(start, this.pos));
      }
      this.skipSpaces();
      if (this.src[this.pos] !== ".") return keys;
      this.pos++;
    }
  }

  private value(): unknown {
    const rest = this.src.slice(this.pos, this.pos + 64);
    const ch = rest[0];
    if (ch === '"') {
      return rest.startsWith('"""') ? this.multiBasicString() : this.basicString();
    }
    if (ch === "'") {
      return rest.startsWith("'''") ? this.multiLiteralString() : this.literalString();
    }
    if (ch === "[") return this.array();
    if (ch === "{") return this.inlineTable();
    if (rest.startsWith("true") && !BARE_KEY.test(rest[4] ?? "")) return this.take(4, true);
    if (rest.startsWith("false") && !BARE_KEY.test(rest[5] ?? "")) return this.take(5, false);
    const date = DATETIME.exec(rest);
    if (date) return this.take(date[0].length, date[0]);
    return this.number();
  }

  private take<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }

  private number(): number {
    const match = /^[+-]?[0-9A-Za-z_.+-]+/.exec(this.src.slice(this.pos));
    if (!match) this.fail("expected a value");
    const raw = match[0];
    this.pos += raw.length;
    const special = /^([+-]?)(inf|nan)$/.exec(raw);
    if (special) return special[2] === "nan" ? NaN : special[1] === "-" ? -Infinity : Infinity;
    const prefixed = /^(0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+)$/.exec(raw);
    if (prefixed) return Number(this.digits(raw));
    const decimal = /^[+-]?(0|[1-9](_?\d)*)(\.\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/;
    if (!decimal.test(raw)) this.fail(`'${raw}' is not a valid value`);
    return Number(this.digits(raw));
  }

  private digits(raw: string): string {
    if (/(^|[^0-9A-Fa-f])_|_($|[^0-9A-Fa-f])/.test(raw)) this.fail(`misplaced '_' in '${raw}'`);
    return raw.replaceAll("_", "");
  }

  private array(): unknown[] {
    this.pos++;
    const items: unknown[] = [];
    for (;;) {
      this.skipBlank();
      if (this.src[this.pos] === "]") break;
      items.push(this.value());
      this.skipBlank();
      if (this.src[this.pos] === ",") {
        this.pos++;
        continue;
      }
      if (this.src[this.pos] !== "]") this.fail("expected ',' or ']' in an array");
      break;
    }
    this.pos++;
    this.state.frozen.add(items);
    return items;
  }

  private inlineTable(): Table {
    this.pos++;
    const table: Table = {};
    this.skipSpaces();
    if (this.src[this.pos] === "}") {
      this.pos++;
      this.state.frozen.add(table);
      return table;
    }
    for (;;) {
      this.keyValue(table);
      this.skipSpaces();
      const ch = this.src[this.pos];
      this.pos++;
      if (ch === "}") break;
      if (ch !== ",") this.fail("expected ',' or '}' in an inline table");
      this.skipSpaces();
    }
    this.state.frozen.add(table);
    return table;
  }

  private basicString(): string {
    this.pos++;
    let out = "";
    for (;;) {
      const ch = this.src[this.pos];
      if (ch === undefined || ch === "\n") this.fail("unterminated string");
      this.pos++;
      if (ch === '"') return out;
      out += ch === "\\" ? this.escape() : ch;
    }
  }

  private multiBasicString(): string {
    this.pos += 3;
    if (this.src[this.pos] === "\n") this.pos++;
    else if (this.src.startsWith("\r\n", this.pos)) this.pos += 2;
    let out = "";
    for (;;) {
      if (this.pos >= this.src.length) this.fail("unterminated string");
      if (this.src.startsWith('"""', this.pos)) {
        // Up to two quotes may sit right before the closing delimiter.
        let end = this.pos + 3;
        while (this.src[end] === '"' && end - this.pos < 5) end++;
        out += '"'.repeat(end - this.pos - 3);
        this.pos = end;
        return out;
      }
      const ch = this.src[this.pos++]!;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      // A backslash at the end of a line trims the line break and leading blanks.
      const trim = /^[ \t]*\r?\n[\s]*/.exec(this.src.slice(this.pos));
      if (trim) this.pos += trim[0].length;
      else out += this.escape();
    }
  }

  private literalString(): string {
    const end = this.src.indexOf("'", this.pos + 1);
    const newline = this.src.indexOf("\n", this.pos + 1);
    if (end < 0 || (newline >= 0 && newline < end)) this.fail("unterminated string");
    const out = this.src.slice(this.pos + 1, end);
    this.pos = end + 1;
    return out;
  }

  private multiLiteralString(): string {
    this.pos += 3;
    if (this.src[this.pos] === "\n") this.pos++;
    else if (this.src.startsWith("\r\n", this.pos)) this.pos += 2;
    const end = this.src.indexOf("'''", this.pos);
    if (end < 0) this.fail("unterminated string");
    let close = end + 3;
    while (this.src[close] === "'" && close - end < 5) close++;
    const out = this.src.slice(this.pos, close - 3);
    this.pos = close;
    return out;
  }

  private escape(): string {
    const ch = this.src[this.pos++];
    const simple: Record<string, string> = {
      b: "\b",
      t: "\t",
      n: "\n",
      f: "\f",
      r: "\r",
      e: "\x1b",
      '"': '"',
      "\\": "\\",
    };
    if (ch !== undefined && simple[ch] !== undefined) return simple[ch];
    const width = ch === "u" ? 4 : ch === "U" ? 8 : ch === "x" ? 2 : 0;
    const hex = this.src.slice(this.pos, this.pos + width);
    if (width === 0 || !new RegExp(`^[0-9A-Fa-f]{${width}}$`).test(hex)) {
      this.fail(`invalid escape '\\${ch ?? ""}'`);
    }
    this.pos += width;
    const code = Number.parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail("invalid unicode escape");
    return String.fromCodePoint(code);
  }

  private skipSpaces(): void {
    while (this.src[this.pos] === " " || this.src[this.pos] === "\t") this.pos++;
  }

  /** Skips blanks, newlines and comments. */
  private skipBlank(): void {
    for (;;) {
      this.skipSpaces();
      const ch = this.src[this.pos];
      if (ch === "\n" || ch === "\r") this.pos++;
      else if (ch === "#") this.skipComment();
      else return;
    }
  }

  private skipComment(): void {
    while (this.pos < this.src.length && this.src[this.pos] !== "\n") this.pos++;
  }

  private endOfLine(): void {
    this.skipSpaces();
    if (this.src[this.pos] === "#") this.skipComment();
    if (this.src.startsWith("\r\n", this.pos)) this.pos += 2;
    else if (this.src[this.pos] === "\n") this.pos++;
    else if (this.pos < this.src.length) this.fail("expected the end of the line");
  }

  private fail(message: string): never {
    const line = this.src.slice(0, this.pos).split("\n").length;
    throw new TomlError(`line ${line}: ${message}`);
  }
}

function isTable(value: unknown): value is Table {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
