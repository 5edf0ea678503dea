/**
 * One OAuth bearer token shared by every request of a store (Azure Entra ID,
 * Google service accounts, user refresh tokens, metadata servers). A command
 * fetches a token once; it is fetched again only shortly before it expires or
 * when a server refuses it, and however many requests run at once, each
 * renewal is one request to the token endpoint.
 */

/** A token and the time it stops working (epoch ms; undefined = unknown). */
export interface BearerToken {
  readonly token: string;
  readonly expiresAt: number | undefined;
}

/** Fetches a fresh token (one request to a token endpoint or metadata server). */
export type TokenSource = (signal?: AbortSignal) => Promise<BearerToken>;

/** Renew this long before expiry (google-auth and azure-identity use 5 minutes)… */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
/** A token is used at least this long after it was fetched, whatever its stated expiry. */
const MIN_REUSE_MS = 10 * 1000;

interface Entry {
  readonly promise: Promise<BearerToken>;
  /** Epoch ms after which `get` fetches a new token. */
  renewAt: number;
  value?: BearerToken;
}

export class TokenCache {
  readonly #source: TokenSource;
  readonly #now: () => number;
  #entry: Entry | undefined;

  constructor(source: TokenSource, now: () => number = Date.now) {
    this.#source = source;
    this.#now = now;
  }

  /** The current token, fetched (once, for every concurrent caller) when there is none or it is due. */
  async get(signal?: AbortSignal): Promise<string> {
    let entry = this.#entry;
    if (entry === undefined || (entry.value !== undefined && this.#now() >= entry.renewAt)) {
      entry = this.#fetch(signal);
    }
    return (await entry.promise).token;
  }

  /**
   * A server refused `token` (expired or revoked early): the next `get`
   * fetches a new one — once, however many requests saw the refusal.
   */
  invalidate(token: string): void {
    if (this.#entry?.value?.token === token) this.#entry = undefined;
  }

  #fetch(signal: AbortSignal | undefined): Entry {
    const fetchedAt = this.#now();
    const entry: Entry = {
      promise: this.#source(signal),
      renewAt: Number.POSITIVE_INFINITY,
    };
    this.#entry = entry;
    entry.promise.then((value) => {
      entry.value = value;
      if (value.expiresAt !== undefined) {
        // …or halfway through a token's life when it is shorter than that; a token said to
        // be expired already is still tried for a while (a refusal renews it at once).
        const lifetime = value.expiresAt - fetchedAt;
        entry.renewAt = Math.max(
          value.expiresAt - Math.min(REFRESH_MARGIN_MS, lifetime / 2),
          fetchedAt + MIN_REUSE_MS,
        );
      }
    }, () => {
      // A failed fetch (an abort, a network error) must not stick.
      if (this.#entry === entry) this.#entry = undefined;
    });
    return entry;
  }
}
