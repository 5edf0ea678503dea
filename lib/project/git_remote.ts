import type { GitConfig } from "../git/git_config.ts";

/** A Git remote argument resolved to the URLs to talk to. */
export interface GitRemoteTarget {
  /** What the user typed (`origin`, a URL, a path): DVC prints this in messages. */
  readonly arg: string;
  /**
   * URL for fetching and listing, as configured or typed (a relative local
   * path stays relative: the transport resolves it against the work tree,
   * and messages show it as the user wrote it).
   */
  readonly fetchUrl: string;
  /** URL for pushing (differs only through `pushInsteadOf`). */
  readonly pushUrl: string;
}

/**
 * Resolves a Git remote name from the Git config (`remote.<name>.url`, and
 * `remote.<name>.pushurl` for pushes) or takes the argument as a URL, then
 * applies `url.<base>.insteadOf` (and `pushInsteadOf` for pushes) with git's
 * longest-prefix rule. As in git (remote.c), a pushurl is rewritten by
 * `insteadOf` only; `pushInsteadOf` applies to the url when there is no
 * pushurl. Relative local paths are left as they are: the transports
 * resolve them against the top of the work tree, where git runs.
 */
export function resolveGitRemote(arg: string, config: GitConfig): GitRemoteTarget {
  const raw = config.get(`remote.${arg}.url`) ?? arg;
  const fetchUrl = rewrite(raw, config, "insteadof") ?? raw;
  const pushurl = config.get(`remote.${arg}.pushurl`);
  const push = pushurl !== undefined
    ? rewrite(pushurl, config, "insteadof") ?? pushurl
    : rewrite(raw, config, "pushinsteadof") ?? rewrite(raw, config, "insteadof") ?? raw;
  return { arg, fetchUrl, pushUrl: push };
}

function rewrite(
  url: string,
  config: GitConfig,
  kind: "insteadof" | "pushinsteadof",
): string | undefined {
  let best: { prefix: string; base: string } | undefined;
  for (const [key, value] of config.entries()) {
    if (!key.startsWith("url.") || !key.endsWith(`.${kind}`)) continue;
    const base = key.slice(4, -(kind.length + 1));
    if (url.startsWith(value) && (best === undefined || value.length > best.prefix.length)) {
      best = { prefix: value, base };
    }
  }
  return best === undefined ? undefined : best.base + url.slice(best.prefix.length);
}
