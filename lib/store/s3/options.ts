import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { ConfigError } from "../../errors/mod.ts";
import { parseBool, parseSeconds, parseTls, type TlsSettings } from "../http_values.ts";

/**
 * An S3 remote's DVC config section (spec §5.4), checked and turned into what
 * requests need. Everything here is static; what depends on the AWS config
 * file (profile region, `s3 =` transfer settings) is resolved on first use.
 */
export interface S3RemoteConfig {
  readonly bucket: string;
  /** Key prefix without leading or trailing `/` ("" for the bucket root). */
  readonly prefix: string;
  readonly displayUrl: string;
  /** Explicit endpoint (option or AWS_ENDPOINT_URL[_S3]) without a trailing `/`. */
  readonly endpoint: string | undefined;
  readonly useSsl: boolean;
  readonly region: string | undefined;
  readonly profile: string | undefined;
  readonly credentialPath: string | undefined;
  readonly configPath: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  readonly anonymous: boolean;
  /** Headers of object-creating requests: SSE, KMS key, ACL, grants. */
  readonly writeHeaders: Readonly<Record<string, string>>;
  /** SSE-C headers, sent with every request that reads or writes object bytes. */
  readonly customerKeyHeaders: Readonly<Record<string, string>>;
  /** TLS settings: `rejectUnauthorized: false` for ssl_verify=false, or a CA bundle path. */
  readonly tls: TlsSettings | undefined;
  readonly connectTimeoutMs: number;
  readonly readTimeoutMs: number;
}

const GRANTS: Record<string, string> = {
  grant_read: "x-amz-grant-read",
  grant_read_acp: "x-amz-grant-read-acp",
  grant_write_acp: "x-amz-grant-write-acp",
  grant_full_control: "x-amz-grant-full-control",
};

/** Reads `s3://bucket[/prefix]` and the section options; throws ConfigError on bad values. */
export function parseS3Remote(
  url: string,
  options: Readonly<Record<string, string>>,
  env: Readonly<Record<string, string | undefined>>,
): S3RemoteConfig {
  const match = /^s3:\/\/([^/?#]*)\/*([^?#]*)$/i.exec(url);
  const bucket = match?.[1] ?? "";
  if (!match || bucket === "") {
    throw new ConfigError(`S3 remote URL '${url}' has no bucket: use 's3://<bucket>[/<prefix>]'.`);
  }
  const prefix = (match[2] ?? "").replace(/\/+$/, "");
  const displayUrl = prefix === "" ? `s3://${bucket}` : `s3://${bucket}/${prefix}`;
  const opt = (name: string) => {
    const value = options[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  const useSsl = parseBool(opt("use_ssl"), true, "use_ssl", displayUrl);
  let endpoint = opt("endpointurl") ?? nonEmpty(env["AWS_ENDPOINT_URL_S3"]) ??
    nonEmpty(env["AWS_ENDPOINT_URL"]);
  if (endpoint !== undefined) {
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
      endpoint = `${useSsl ? "https" : "http"}://${endpoint}`;
    }
    endpoint = endpoint.replace(/\/+$/, "");
    try {
      new URL(endpoint);
    } catch {
      throw new ConfigError(`endpointurl '${endpoint}' of remote '${displayUrl}' is not a URL.`);
    }
  }

  const writeHeaders: Record<string, string> = {};
  const acl = opt("acl");
  const grants = Object.keys(GRANTS).filter((name) => opt(name) !== undefined);
  if (acl !== undefined && grants.length > 0) {
    throw new ConfigError("`acl` and `grant_*` AWS S3 config options are mutually exclusive");
  }
  if (acl !== undefined) writeHeaders["x-amz-acl"] = acl;
  for (const name of grants) writeHeaders[GRANTS[name]!] = opt(name)!;

  const kmsKey = opt("sse_kms_key_id");
  const customerKey = opt("sse_customer_key");
  if (kmsKey !== undefined && customerKey !== undefined) {
    throw new ConfigError(
      "`sse_kms_key_id` and `sse_customer_key` AWS S3 config options are mutually exclusive",
    );
  }
  const sse = opt("sse");
  if (sse !== undefined) writeHeaders["x-amz-server-side-encryption"] = sse;
  if (kmsKey !== undefined) {
    writeHeaders["x-amz-server-side-encryption"] ??= "aws:kms";
    writeHeaders["x-amz-server-side-encryption-aws-kms-key-id"] = kmsKey;
  }
  const customerKeyHeaders: Record<string, string> = {};
  if (customerKey !== undefined) {
    const raw = Buffer.from(customerKey, "base64");
    if (raw.length !== 32) {
      throw new ConfigError(
        `sse_customer_key of remote '${displayUrl}' must be the base64 of a 256-bit key.`,
      );
    }
    customerKeyHeaders["x-amz-server-side-encryption-customer-algorithm"] =
      opt("sse_customer_algorithm") ?? "AES256";
    customerKeyHeaders["x-amz-server-side-encryption-customer-key"] = raw.toString("base64");
    customerKeyHeaders["x-amz-server-side-encryption-customer-key-md5"] = createHash("md5")
      .update(raw).digest("base64");
  }

  return {
    bucket,
    prefix,
    displayUrl,
    endpoint,
    useSsl,
    region: opt("region"),
    profile: opt("profile"),
    credentialPath: opt("credentialpath"),
    configPath: opt("configpath"),
    accessKeyId: opt("access_key_id"),
    secretAccessKey: opt("secret_access_key"),
    sessionToken: opt("session_token"),
    anonymous: parseBool(opt("allow_anonymous_login"), false, "allow_anonymous_login", displayUrl),
    writeHeaders,
    customerKeyHeaders,
    tls: parseTls(opt("ssl_verify"), nonEmpty(env["AWS_CA_BUNDLE"]), displayUrl),
    connectTimeoutMs: parseSeconds(opt("connect_timeout"), 60, "connect_timeout", displayUrl),
    readTimeoutMs: parseSeconds(opt("read_timeout"), 60, "read_timeout", displayUrl),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
