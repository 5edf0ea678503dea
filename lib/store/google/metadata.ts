import { abortError } from "../abort.ts";
import type { BearerToken } from "../bearer_token.ts";
import { parseJsonObject } from "../oauth_token.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Off Google Cloud the link-local address does not answer: the probe gives up after this. */
export const METADATA_PROBE_BUDGET_MS = 1000;

/**
 * The metadata server's base URL as google-auth finds it: GCE_METADATA_HOST
 * (legacy GCE_METADATA_ROOT), else GCE_METADATA_IP, else 169.254.169.254
 * (the address behind metadata.google.internal, without a DNS lookup).
 */
export function metadataBase(env: Env): string {
  const host = env["GCE_METADATA_HOST"]?.trim() || env["GCE_METADATA_ROOT"]?.trim() ||
    env["GCE_METADATA_IP"]?.trim() || "169.254.169.254";
  return /^https?:\/\//.test(host) ? host.replace(/\/+$/, "") : `http://${host}`;
}

/**
 * The default service account's token from the GCE / GKE / Cloud Run
 * metadata server (`Metadata-Flavor: Google` both ways). Undefined when no
 * metadata server answers within `budgetMs` (the caller moves on).
 */
export async function metadataToken(
  env: Env,
  signal: AbortSignal | undefined,
  budgetMs: number,
  onDebug?: (line: string) => void,
): Promise<BearerToken | undefined> {
  const base = metadataBase(env);
  const budget = AbortSignal.timeout(budgetMs);
  const probe = signal ? AbortSignal.any([signal, budget]) : budget;
  try {
    const response = await fetch(
      `${base}/computeMetadata/v1/instance/service-accounts/default/token`,
      { headers: { "metadata-flavor": "Google" }, signal: probe },
    );
    const body = parseJsonObject(await response.text());
    const token = body?.["access_token"];
    if (
      !response.ok || response.headers.get("metadata-flavor") !== "Google" ||
      typeof token !== "string"
    ) {
      onDebug?.(`GCE metadata server at ${base} answered HTTP ${response.status}`);
      return undefined;
    }
    const expiresIn = Number(body?.["expires_in"]);
    return {
      token,
      expiresAt: Number.isFinite(expiresIn) && expiresIn > 0
        ? Date.now() + expiresIn * 1000
        : undefined,
    };
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    onDebug?.(`GCE metadata server not available at ${base}: ${(error as Error).name}`);
    return undefined;
  }
}
