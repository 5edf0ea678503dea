/**
 * The one interface every Git transport implements (ssh, local path, https).
 *
 * A transport opens *sessions*. A session starts with the remote's ref
 * advertisement and then carries exactly one request on the same connection
 * (one ssh process for the whole command; for HTTP, discovery + one POST).
 */

/** The all-zero SHA used for "absent" in ref update commands. */
export const ZERO_OID = "0000000000000000000000000000000000000000";

/** What the remote advertised. */
export interface Advertisement {
  /** Ref name → commit SHA (peeled values of annotated tags are not included). */
  readonly refs: ReadonlyMap<string, string>;
  /** Target of the remote's symbolic HEAD, when it told us (e.g. `refs/heads/main`). */
  readonly headTarget?: string;
  /** Capabilities from the advertisement (v0) or the capability list (v2). */
  readonly capabilities: ReadonlySet<string>;
  /** Protocol version the server spoke. */
  readonly protocol: 0 | 2;
  /** v0: commits where the server's own history stops (it is a shallow clone itself). */
  readonly shallow?: readonly string[];
}

/** One ref update command for receive-pack. `ZERO_OID` for create (old) / delete (new). */
export interface RefUpdate {
  readonly ref: string;
  readonly oldOid: string;
  readonly newOid: string;
}

/** The server's verdict for one ref update (from report-status). */
export interface RefUpdateResult {
  readonly ref: string;
  readonly ok: boolean;
  /** The remote's reason when `ok` is false (e.g. "pre-receive hook declined"). */
  readonly reason?: string;
}

export interface ListRefsOptions {
  /** Only refs under these prefixes are needed (v2 `ref-prefix`); v0 lists all anyway. */
  readonly prefixes?: readonly string[];
  readonly signal?: AbortSignal;
}

/** One fetch request (gitprotocol-pack / gitprotocol-v2 `fetch`). */
export interface FetchRequest {
  /** Objects to receive (commits, or any object by id as a partial clone's lazy fetch does). */
  readonly wants: readonly string[];
  /** Commits we have: the server leaves out what is reachable from them. */
  readonly haves: readonly string[];
  /** Our shallow commits (`.git/shallow`): the server must not assume we have their parents. */
  readonly shallow?: readonly string[];
  /** Only this many commits of history below each want (`deepen <n>`). */
  readonly depth?: number;
}

/** What a fetch brought back. */
export interface FetchedPack {
  /** The packfile ("PACK…"), or empty when nothing was needed. */
  readonly pack: Uint8Array;
  /**
   * Commits the pack holds without their parents (the `depth` cut, or the
   * server's own shallow boundary): they become shallow commits here.
   */
  readonly shallow: readonly string[];
  /** Our shallow commits whose parents the pack now carries. */
  readonly unshallow: readonly string[];
}

/** A fetch session: advertisement first, then one negotiation + pack. */
export interface FetchSession {
  readonly advertisement: Advertisement;
  /**
   * Sends one fetch request and returns the pack with the server's shallow
   * answers. A request with `shallow` or `depth` needs a server that
   * supports shallow clients (GitRemoteError otherwise).
   */
  fetch(request: FetchRequest): Promise<FetchedPack>;
  /** `fetch({ wants, haves })` for a complete repository, returning only the pack. */
  fetchPack(wants: readonly string[], haves: readonly string[]): Promise<Uint8Array>;
  /** Ends the session cleanly (flush, close stdin, wait for the process). */
  close(): Promise<void>;
}

/** A push session: advertisement first, then commands + one pack. */
export interface PushSession {
  readonly advertisement: Advertisement;
  /**
   * Sends every update and the pack in one request and returns one result per
   * update. `pack` is null for delete-only pushes. With `atomic` (used only
   * when advertised) the remote applies all or nothing.
   */
  send(
    updates: readonly RefUpdate[],
    pack: Uint8Array | null,
    options: { atomic: boolean },
  ): Promise<RefUpdateResult[]>;
  close(): Promise<void>;
}

export interface Transport {
  /** The URL as shown to users (secrets removed). */
  readonly displayUrl: string;
  /** One session that only lists refs. */
  listRefs(options?: ListRefsOptions): Promise<Advertisement>;
  openFetch(options?: ListRefsOptions): Promise<FetchSession>;
  openPush(options?: { signal?: AbortSignal }): Promise<PushSession>;
}

/** What every transport factory gets from the caller. */
export interface TransportOptions {
  /** Environment (DXP_SSH_COMMAND, GIT_SSH_COMMAND, GIT_SSH, SSL_CERT_FILE, DXP_GIT_TOKEN, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Folder relative local-path URLs are resolved against. */
  readonly cwd: string;
  /** Reads one value of the local Git config (e.g. "core.sshCommand", "http.sslCAInfo"). */
  readonly gitConfig: (key: string) => string | undefined;
  /** Receives `-v` debug lines (already free of secrets). */
  readonly onDebug?: (line: string) => void;
}
