import { DxpError, ExitCode } from "../errors/mod.ts";

/** Where a stage-file problem is. Every field is optional: a parser adds what it knows. */
export interface StageFileLocation {
  /** Project path of the stage file (`dvc.lock`, `data/raw.csv.dvc`). */
  readonly file?: string | undefined;
  /** 1-based line of the offending entry. */
  readonly line?: number | undefined;
  /** 1-based column, for YAML syntax errors. */
  readonly column?: number | undefined;
  /** The file holds Git merge-conflict markers. */
  readonly conflict?: boolean | undefined;
  /** The commit the file was read from (absent for the workspace). */
  readonly revision?: string | undefined;
}

/**
 * A stage file (`dvc.yaml`, `dvc.lock`, `*.dvc`) that DVC would refuse to
 * load. The message is one line naming the file, the line and what to do,
 * shaped like DVC's `'<file>' is invalid (possible merge conflicts).`:
 *
 * `'dvc.lock' is invalid (possible merge conflicts): line 1, column 1:
 * Implicit keys need to be on a single line. Resolve the merge conflict
 * and run the command again.` (one line)
 *
 * A problem found before the file is known (templating, `foreach`) is
 * thrown without one and {@link StageFileError.at located} by the caller.
 */
export class StageFileError extends DxpError {
  /** What is wrong, without the location. */
  readonly detail: string;
  readonly location: StageFileLocation;

  constructor(detail: string, location: StageFileLocation = {}) {
    super("StageFile", stageFileMessage(detail, location), ExitCode.failure, {
      data: { ...location },
    });
    this.detail = detail;
    this.location = location;
  }

  /**
   * The same problem placed in `where`: a problem that already names its
   * file (a `vars` or params file read for a `dvc.yaml`) only gains the
   * revision; one without a file takes `where`'s file, and its line when it
   * has none of its own.
   */
  at(where: StageFileLocation): StageFileError {
    const own = this.location;
    if (own.file !== undefined) {
      if (own.revision !== undefined || where.revision === undefined) return this;
      return new StageFileError(this.detail, { ...own, revision: where.revision });
    }
    return new StageFileError(this.detail, {
      ...where,
      ...(own.line !== undefined ? { line: own.line, column: own.column } : {}),
    });
  }
}

function stageFileMessage(detail: string, where: StageFileLocation): string {
  const text = detail.replace(/[.:;\s]+$/, "");
  if (where.file === undefined) return `${text}.`;
  let head = `'${where.file}' is invalid`;
  if (where.conflict) head += " (possible merge conflicts)";
  if (where.revision !== undefined) head += ` in revision '${where.revision.slice(0, 7)}'`;
  if (where.line !== undefined) {
    head += `: line ${where.line}`;
    if (where.column !== undefined) head += `, column ${where.column}`;
  }
  // A committed file cannot be corrected in place: the caller says what the commit is for.
  const todo = where.revision !== undefined
    ? ""
    : where.conflict
    ? " Resolve the merge conflict and run the command again."
    : " Correct it and run the command again.";
  return `${head}: ${text}.${todo}`;
}
