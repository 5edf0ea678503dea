/**
 * TLS trust for the smart-HTTP transport, as git decides it: the system roots
 * plus the CA files named by `GIT_SSL_CAINFO`, `SSL_CERT_FILE` and
 * `http.sslCAInfo`; verification off with `GIT_SSL_NO_VERIFY` or
 * `http.sslVerify=false`.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type tls from "node:tls";
import { lazyBuiltin } from "../../util/builtin.ts";
import { ConfigError } from "../../errors/mod.ts";
import type { TransportOptions } from "./types.ts";

const tlsModule = lazyBuiltin<typeof tls>("node:tls");

/** What node:https needs to decide whether it trusts a server. */
export interface HttpTlsSettings {
  /** Root certificates (system roots + extra CA files); undefined = runtime default. */
  readonly ca?: readonly string[];
  readonly rejectUnauthorized: boolean;
  /** Extra CA files that were added (for debug lines). */
  readonly caFiles: readonly string[];
}

const PEM_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Git's boolean config parsing: false/no/off/0 (and empty) are false. */
export function gitConfigBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (v === "false" || v === "no" || v === "off" || v === "0" || v === "") return false;
  return true;
}

/** Reads the TLS trust settings from the environment and Git config. */
export function tlsSettingsFor(options: TransportOptions): HttpTlsSettings {
  const env = options.env;
  // git: the mere presence of GIT_SSL_NO_VERIFY turns verification off.
  const noVerify = env["GIT_SSL_NO_VERIFY"] !== undefined ||
    !gitConfigBool(options.gitConfig("http.sslVerify"), true);
  const files = [env["GIT_SSL_CAINFO"], env["SSL_CERT_FILE"], options.gitConfig("http.sslCAInfo")]
    .filter((f): f is string => f !== undefined && f.trim() !== "")
    .map((f) => expandPath(f.trim(), options));
  const caFiles = [...new Set(files)];
  if (noVerify) return { rejectUnauthorized: false, caFiles: [] };
  if (caFiles.length === 0) return { rejectUnauthorized: true, caFiles };
  const extra = caFiles.flatMap(readPemFile);
  return {
    ca: [...new Set([...tlsModule().rootCertificates, ...extra])],
    rejectUnauthorized: true,
    caFiles,
  };
}

function expandPath(path: string, options: TransportOptions): string {
  const home = options.env["HOME"];
  const expanded = path.startsWith("~/") && home !== undefined ? home + path.slice(1) : path;
  return isAbsolute(expanded) ? expanded : resolve(options.cwd, expanded);
}

function readPemFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? "unreadable";
    throw new ConfigError(
      `Cannot read the CA file '${path}' (${reason}); fix GIT_SSL_CAINFO, SSL_CERT_FILE or http.sslCAInfo.`,
      { cause: error },
    );
  }
  const certs = text.match(PEM_RE) ?? [];
  if (certs.length === 0) {
    throw new ConfigError(
      `The CA file '${path}' holds no PEM certificate; fix GIT_SSL_CAINFO, SSL_CERT_FILE or http.sslCAInfo.`,
    );
  }
  return certs.map((c) => `${c}\n`);
}

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REVOKED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** True for errors that mean "the server's certificate was not accepted". */
export function isCertificateError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && TLS_CODES.has(code)) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /certificate|UnknownIssuer|self[- ]signed|InvalidCertificate/i.test(message);
}
