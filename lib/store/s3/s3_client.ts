import type { DxpError } from "../../errors/mod.ts";
import { fetchWithLimits, type HttpLimits } from "../http_fetch.ts";
import { encodeKey, strictEncode } from "../http_values.ts";
import { type AwsFiles, loadAwsFiles, parseAwsSize } from "./aws_files.ts";
import { CredentialChain } from "./credentials.ts";
import type { S3RemoteConfig } from "./options.ts";
import { s3ResponseError } from "./s3_errors.ts";
import { signS3Request } from "./s3_signer.ts";
import { xmlText } from "./xml.ts";
import { readErrorText } from "../read_body.ts";

/** Transfer sizes; the AWS config profile's `s3 =` settings and test code may change them. */
export interface S3Tuning {
  /** Objects larger than this go up in parts. */
  readonly multipartThreshold: number;
  readonly partSize: number;
  /** Parts of one object uploaded at the same time (memory ≈ this × partSize). */
  readonly partsInFlight: number;
  /** `max-keys` of each ListObjectsV2 page (S3 caps it at 1000). */
  readonly listPageSize: number;
}

const MIB = 1024 * 1024;
/** Largest single-PUT body or part buffer, whatever the AWS profile asks for. */
const MAX_BUFFER = 256 * MIB;
export const DEFAULT_TUNING: S3Tuning = {
  multipartThreshold: 16 * MIB,
  partSize: 16 * MIB,
  partsInFlight: 2,
  listPageSize: 1000,
};

interface Resolved {
  region: string;
  regionFixed: boolean;
  pathStyle: boolean;
  tuning: S3Tuning;
}

export interface S3Request {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** Full object key (with the remote's prefix); absent for bucket requests. */
  readonly key?: string;
  readonly query?: ReadonlyArray<readonly [string, string]>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array<ArrayBuffer>;
  readonly signal?: AbortSignal | undefined;
  /** Verb phrase for messages: "upload 'files/md5/ab/cd'". */
  readonly action: string;
  /** Statuses handed back instead of thrown (404 for HEAD/DELETE). */
  readonly pass?: readonly number[];
}

/**
 * Signed S3 requests for one remote: addressing (path-style for custom
 * endpoints, virtual-hosted on AWS), SigV4 with UNSIGNED-PAYLOAD, credentials
 * from the chain, time limits, and error responses turned into typed errors.
 * It never retries (the retry wrapper does) except once after a region
 * redirect, which is not a failure.
 */
export class S3Client {
  readonly config: S3RemoteConfig;
  readonly limits: HttpLimits;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #onDebug: ((line: string) => void) | undefined;
  readonly #tuningOverride: Partial<S3Tuning>;
  readonly #credentials: CredentialChain;
  readonly #signingKeys = new Map<string, Uint8Array>();
  #files: Promise<AwsFiles> | undefined;
  #resolved: Promise<Resolved> | undefined;

  constructor(
    config: S3RemoteConfig,
    env: Readonly<Record<string, string | undefined>>,
    onDebug: ((line: string) => void) | undefined,
    tuning: Partial<S3Tuning> = {},
  ) {
    this.config = config;
    this.#env = env;
    this.#onDebug = onDebug;
    this.#tuningOverride = tuning;
    this.limits = {
      connectTimeoutMs: config.connectTimeoutMs,
      readTimeoutMs: config.readTimeoutMs,
      tls: config.tls,
    };
    this.#credentials = new CredentialChain({
      displayUrl: config.displayUrl,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      sessionToken: config.sessionToken,
      env,
      files: () => this.files(),
      onDebug,
    });
  }

  /** The AWS shared files (read once). */
  files(): Promise<AwsFiles> {
    this.#files ??= loadAwsFiles(this.config, this.#env);
    this.#files.catch(() => (this.#files = undefined));
    return this.#files;
  }

  /** Region, addressing style and transfer sizes (read once). */
  settings(): Promise<Resolved> {
    this.#resolved ??= this.#resolve();
    this.#resolved.catch(() => (this.#resolved = undefined));
    return this.#resolved;
  }

  /** `prefix/key` for a remote-relative key. */
  fullKey(key: string): string {
    return this.config.prefix === "" ? key : `${this.config.prefix}/${key}`;
  }

  async #resolve(): Promise<Resolved> {
    const files = await this.files();
    const profile = files.config;
    const fromEnv = this.#env["AWS_REGION"] || this.#env["AWS_DEFAULT_REGION"];
    const region = this.config.region ?? (fromEnv || undefined) ?? profile?.get("region");
    const style = profile?.get("s3.addressing_style");
    const tuning: S3Tuning = {
      // Both sizes are in-memory buffers: keep them bounded whatever the profile says.
      multipartThreshold: Math.min(
        MAX_BUFFER,
        parseAwsSize(profile?.get("s3.multipart_threshold")) ?? DEFAULT_TUNING.multipartThreshold,
      ),
      partSize: Math.min(
        MAX_BUFFER,
        Math.max(
          5 * MIB,
          parseAwsSize(profile?.get("s3.multipart_chunksize")) ?? DEFAULT_TUNING.partSize,
        ),
      ),
      partsInFlight: DEFAULT_TUNING.partsInFlight,
      listPageSize: DEFAULT_TUNING.listPageSize,
      ...this.#tuningOverride,
    };
    return {
      region: region || "us-east-1",
      regionFixed: region !== undefined && region !== "",
      pathStyle: style === "path" ||
        (style !== "virtual" &&
          (this.config.endpoint !== undefined || !dnsBucket(this.config.bucket))),
      tuning,
    };
  }

  /** Sends one request; non-2xx answers (other than `pass`) become typed errors. */
  async request(req: S3Request): Promise<Response> {
    const settings = await this.settings();
    let response = await this.#send(req, settings);
    const hinted = response.headers.get("x-amz-bucket-region");
    if (
      (response.status === 301 || response.status === 400) && hinted &&
      hinted !== settings.region &&
      this.config.endpoint === undefined && !settings.regionFixed
    ) {
      await response.body?.cancel();
      this.#onDebug?.(`S3 bucket '${this.config.bucket}' is in region ${hinted}`);
      settings.region = hinted;
      response = await this.#send(req, settings);
    }
    if (response.ok || req.pass?.includes(response.status)) return response;
    throw await this.errorFrom(response, req.action);
  }

  /** Reads an error response's `<Code>` and classifies it. */
  async errorFrom(response: Response, action: string): Promise<DxpError> {
    const text = await readErrorText(response);
    return s3ResponseError(
      response.status,
      xmlText(text, "Code") ?? "",
      response.headers.get("retry-after"),
      { action, remote: this.config.displayUrl, bucket: this.config.bucket },
    );
  }

  async #send(req: S3Request, settings: Resolved): Promise<Response> {
    const url = this.#url(req, settings);
    let headers = new Headers(req.headers);
    if (!this.config.anonymous) {
      const creds = await this.#credentials.get(req.signal);
      headers = signS3Request({
        method: req.method,
        url,
        headers,
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
        region: settings.region,
        keys: this.#signingKeys,
      });
    }
    const started = performance.now();
    const response = await fetchWithLimits(
      url,
      { method: req.method, headers, ...(req.body ? { body: req.body } : {}) },
      this.limits,
      { action: req.action, where: this.config.displayUrl, signal: req.signal },
    );
    this.#onDebug?.(
      `S3 ${req.method} ${this.#shown(req)} -> ${response.status} ` +
        `(${Math.round(performance.now() - started)} ms)`,
    );
    return response;
  }

  #url(req: S3Request, settings: Resolved): string {
    const { bucket, endpoint, useSsl } = this.config;
    const base = endpoint ?? `${useSsl ? "https" : "http"}://s3.${settings.region}.amazonaws.com`;
    const path = req.key === undefined ? "" : encodeKey(req.key);
    const query = req.query && req.query.length > 0
      ? "?" +
        req.query.map((
          [k, v],
        ) => (v === "" ? strictEncode(k) : `${strictEncode(k)}=${strictEncode(v)}`))
          .join("&")
      : "";
    if (settings.pathStyle) {
      return `${base}/${bucket}${req.key === undefined ? "" : "/"}${path}${query}`;
    }
    const host = new URL(base);
    return `${host.protocol}//${bucket}.${host.host}/${path}${query}`;
  }

  #shown(req: S3Request): string {
    return `s3://${this.config.bucket}/${req.key ?? ""}${
      req.query?.length ? "?" + req.query.map(([k]) => k).join("&") : ""
    }`;
  }
}

/** Buckets that can be a DNS label under TLS (no dots, lower case). */
function dnsBucket(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}
