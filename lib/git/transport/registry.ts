/**
 * Picks the transport for a Git remote URL: ssh (system ssh), local path /
 * `file://` (in-process), or http(s).
 */
import { createHttpTransport } from "./http.ts";
import { createLocalTransport } from "./local.ts";
import { createSshTransport } from "./ssh.ts";
import type { Transport, TransportOptions } from "./types.ts";
import { parseGitUrl } from "./url.ts";

/**
 * Opens the transport for `url`. Throws InvalidArgumentError for a URL that
 * cannot be used (unsupported scheme, a host starting with "-", …) before
 * any process starts or connection is made.
 *
 * @example
 * ```ts
 * const transport = openTransport("git@github.com:team/repo.git", { env, cwd, gitConfig });
 * const adv = await transport.listRefs({ prefixes: ["refs/exps/"] });
 * ```
 */
export function openTransport(url: string, options: TransportOptions): Transport {
  const parsed = parseGitUrl(url, options.cwd);
  switch (parsed.kind) {
    case "ssh":
      return createSshTransport(parsed, url, options);
    case "local":
      return createLocalTransport(parsed.path, url, options);
    case "http":
      return createHttpTransport(parsed.url, options);
  }
}
