import type { AwsCredentials } from "./credentials.ts";
import { abortError } from "../abort.ts";

/** The whole IMDS probe (token, role name, role credentials) must finish within this. */
const PROBE_BUDGET_MS = 1000;
const TOKEN_TTL_SECONDS = "21600";

/**
 * EC2 instance-role credentials through IMDSv2: a session token from
 * `PUT /latest/api/token`, the role name from
 * `/latest/meta-data/iam/security-credentials/`, then that role's keys.
 * Off-cloud the link-local address does not answer; the one-second budget
 * keeps that from being noticed. Returns undefined when IMDS is disabled
 * (`AWS_EC2_METADATA_DISABLED=true`), unreachable or has no role.
 */
export async function imdsCredentials(
  env: Readonly<Record<string, string | undefined>>,
  signal?: AbortSignal,
  onDebug?: (line: string) => void,
): Promise<AwsCredentials | undefined> {
  if ((env["AWS_EC2_METADATA_DISABLED"] ?? "").toLowerCase() === "true") return undefined;
  const base = (env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] || "http://169.254.169.254")
    .replace(/\/+$/, "");
  const budget = AbortSignal.timeout(PROBE_BUDGET_MS);
  const probeSignal = signal ? AbortSignal.any([signal, budget]) : budget;
  try {
    const tokenResponse = await fetch(`${base}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS },
      signal: probeSignal,
    });
    const token = await tokenResponse.text();
    if (!tokenResponse.ok || token === "") {
      onDebug?.(`IMDS token request answered HTTP ${tokenResponse.status}`);
      return undefined;
    }
    const headers = { "x-aws-ec2-metadata-token": token };
    const rolesUrl = `${base}/latest/meta-data/iam/security-credentials/`;
    const rolesResponse = await fetch(rolesUrl, { headers, signal: probeSignal });
    const roles = await rolesResponse.text();
    const role = roles.split("\n").map((line) => line.trim()).find((line) => line !== "");
    if (!rolesResponse.ok || role === undefined) {
      onDebug?.(`IMDS has no instance role (HTTP ${rolesResponse.status})`);
      return undefined;
    }
    const credsResponse = await fetch(`${rolesUrl}${encodeURIComponent(role)}`, {
      headers,
      signal: probeSignal,
    });
    const body = await credsResponse.text();
    if (!credsResponse.ok) {
      onDebug?.(`IMDS role credentials answered HTTP ${credsResponse.status}`);
      return undefined;
    }
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const accessKeyId = parsed["AccessKeyId"];
    const secretAccessKey = parsed["SecretAccessKey"];
    if (typeof accessKeyId !== "string" || typeof secretAccessKey !== "string") return undefined;
    const token2 = parsed["Token"];
    const expiration = typeof parsed["Expiration"] === "string"
      ? Date.parse(parsed["Expiration"])
      : Number.NaN;
    return {
      accessKeyId,
      secretAccessKey,
      ...(typeof token2 === "string" && token2 !== "" ? { sessionToken: token2 } : {}),
      ...(Number.isNaN(expiration) ? {} : { expiresAt: expiration }),
      source: `instance role '${role}' (IMDS)`,
    };
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    onDebug?.(`IMDS not available at ${base}: ${(error as Error).name}`);
    return undefined;
  }
}
