import { StoreError } from "../errors/mod.ts";
import { redactUrl } from "../util/redact.ts";

/**
 * Most pages in a row that may hold no key and still ask for another: real
 * services return an empty page with a continuation now and then (Azure
 * does on timeouts), never thousands in a row.
 */
const MAX_EMPTY_PAGES = 1000;

/**
 * Stops a paged listing that would never end: a server that hands back a
 * continuation token it already gave (the listing would loop forever), or
 * page after page without a key. A listing of real keys, however long, goes
 * on; the user's Ctrl-C stops it.
 */
export class ListingGuard {
  readonly #seen = new Set<string>();
  readonly #action: string;
  readonly #where: string;
  #emptyInARow = 0;

  constructor(action: string, where: string) {
    this.#action = action;
    this.#where = where;
  }

  /** Call with each continuation token and the number of keys on the page that gave it. */
  next(token: string, keysOnPage: number): void {
    this.#emptyInARow = keysOnPage === 0 ? this.#emptyInARow + 1 : 0;
    const repeated = this.#seen.has(token);
    this.#seen.add(token);
    if (!repeated && this.#emptyInARow <= MAX_EMPTY_PAGES) return;
    throw new StoreError(
      `Failed to ${this.#action} at '${redactUrl(this.#where)}': the server's listing never ends ` +
        (repeated
          ? "(it sent a continuation token it had already sent)"
          : `(${this.#emptyInARow} pages in a row without a key)`) +
        "; check the remote's URL and the server.",
      { data: { where: redactUrl(this.#where), repeated } },
    );
  }
}
