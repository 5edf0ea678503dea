/** A value as configobj returns it: a string, or a list for unquoted `a, b`. */
export type IniValue = string | string[];

/** One `key = value` entry, possibly spanning several lines (triple quotes). */
export interface IniEntry {
  /** The key as written (quotes removed, case kept). */
  readonly key: string;
  /** The value before interpolation. */
  readonly value: IniValue;
  /** 0-based index of the line holding the key. */
  readonly line: number;
  /** 0-based index of the last line of the value (same as `line` unless multi-line). */
  readonly endLine: number;
  /** Leading whitespace of the key line. */
  readonly indent: string;
  /** Inline comment after the value, with its leading whitespace ("" if none). */
  readonly comment: string;
}

/** A `[name]` section (depth 1), `[[name]]` (depth 2)… or the file's top level (depth 0). */
export interface IniSection {
  /** The name as written, quotes removed, case kept ("" for the top level). */
  readonly name: string;
  readonly depth: number;
  /** 0-based index of the header line (-1 for the top level). */
  readonly line: number;
  readonly indent: string;
  /** Inline comment after the header, with its leading whitespace ("" if none). */
  readonly comment: string;
  readonly entries: IniEntry[];
  readonly sections: IniSection[];
  /** Last line that belongs to the section's own header and entries (not its subsections). */
  lastLine: number;
}

/** A parsed file that remembers every line so edits can leave the rest untouched. */
export interface IniDocument {
  /** Where the text came from (for messages). */
  readonly file: string;
  /** The lines, without their terminators. */
  readonly lines: string[];
  /** The terminator after each line ("" after a last line without one). */
  readonly terminators: string[];
  /** The first terminator found, used for new lines ("\n" when none). */
  readonly newline: string;
  /** True when the text started with a UTF-8 byte order mark (kept on write). */
  readonly bom: boolean;
  /** The top level; its `sections` are the `[name]` sections in file order. */
  readonly root: IniSection;
}
