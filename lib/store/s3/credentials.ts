import { AuthError, ConfigError } from "../../errors/mod.ts";
import type { AwsFiles } from "./aws_files.ts";
import { imdsCredentials } from "./imds.ts";

/** One set of AWS keys and where it came from (the source is shown in debug lines, the keys never). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** Epoch ms after which the keys stop working (instance-role keys only). */
  readonly expiresAt?: number;
  readonly source: string;
}

export interface CredentialChainInput {
  readonly displayUrl: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly files: () => Promise<AwsFiles>;
  readonly onDebug?: ((line: string) => void) | undefined;
}

/** Refresh expiring keys this long before they expire. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * boto3's order: the remote's own keys → AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (+ AWS_SESSION_TOKEN) → the profile in the shared credentials file, then in
 * the config file → EC2 instance role (IMDSv2). The first source found wins and
 * is cached; instance-role keys are fetched again shortly before they expire.
 */
export class CredentialChain {
  readonly #input: CredentialChainInput;
  #cached: Promise<AwsCredentials> | undefined;

  constructor(input: CredentialChainInput) {
    this.#input = input;
  }

  /** The keys to sign with; AuthError when no source has any. */
  get(signal?: AbortSignal): Promise<AwsCredentials> {
    const cached = this.#cached;
    if (cached !== undefined) {
      return cached.then((creds) => {
        if (creds.expiresAt === undefined || creds.expiresAt - Date.now() > REFRESH_MARGIN_MS) {
          return creds;
        }
        if (this.#cached === cached) this.#cached = undefined;
        return this.get(signal);
      });
    }
    const pending = this.#resolve(signal);
    this.#cached = pending;
    // A failed lookup (an abort, an unreadable file) must not stick.
    pending.catch(() => {
      if (this.#cached === pending) this.#cached = undefined;
    });
    return pending;
  }

  async #resolve(signal?: AbortSignal): Promise<AwsCredentials> {
    const { env, displayUrl } = this.#input;
    const found = fromPair(
      this.#input.accessKeyId,
      this.#input.secretAccessKey,
      this.#input.sessionToken,
      "the remote's access_key_id/secret_access_key",
      "access_key_id and secret_access_key",
      displayUrl,
    ) ??
      fromPair(
        env["AWS_ACCESS_KEY_ID"],
        env["AWS_SECRET_ACCESS_KEY"],
        env["AWS_SESSION_TOKEN"] || env["AWS_SECURITY_TOKEN"],
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        displayUrl,
      ) ??
      fromProfile(await this.#input.files(), displayUrl) ??
      await imdsCredentials(env, signal, this.#input.onDebug);
    if (found === undefined) {
      throw new AuthError(
        `No AWS credentials found for '${displayUrl}': set access_key_id/secret_access_key with ` +
          "'dxp remote modify --local', or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile.",
      );
    }
    this.#input.onDebug?.(`S3 credentials for ${displayUrl} from ${found.source}`);
    return found;
  }
}

function fromPair(
  accessKeyId: string | undefined,
  secretAccessKey: string | undefined,
  sessionToken: string | undefined,
  source: string,
  names: string,
  displayUrl: string,
): AwsCredentials | undefined {
  const id = accessKeyId?.trim() || undefined;
  const secret = secretAccessKey?.trim() || undefined;
  if (id === undefined && secret === undefined) return undefined;
  if (id === undefined || secret === undefined) {
    throw new ConfigError(
      `Only one of ${names} is set for '${displayUrl}': set both, or neither.`,
    );
  }
  const token = sessionToken?.trim() || undefined;
  return {
    accessKeyId: id,
    secretAccessKey: secret,
    ...(token ? { sessionToken: token } : {}),
    source,
  };
}

const UNSUPPORTED_PROFILE_KEYS = [
  "role_arn",
  "credential_process",
  "sso_session",
  "sso_start_url",
  "web_identity_token_file",
];

function fromProfile(files: AwsFiles, displayUrl: string): AwsCredentials | undefined {
  for (
    const [section, path] of [
      [files.credentials, files.credentialsPath],
      [files.config, files.configPath],
    ] as const
  ) {
    if (section === undefined) continue;
    const creds = fromPair(
      section.get("aws_access_key_id"),
      section.get("aws_secret_access_key"),
      section.get("aws_session_token") ?? section.get("aws_security_token"),
      `profile '${files.profile}' in '${path}'`,
      `aws_access_key_id and aws_secret_access_key of profile '${files.profile}' in '${path}'`,
      displayUrl,
    );
    if (creds !== undefined) return creds;
  }
  const unsupported = UNSUPPORTED_PROFILE_KEYS.find((key) =>
    files.config?.has(key) || files.credentials?.has(key)
  );
  if (unsupported !== undefined) {
    throw new ConfigError(
      `AWS profile '${files.profile}' gets its keys through '${unsupported}', which dxp does not ` +
        "support: export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN " +
        "(e.g. from 'aws configure export-credentials') instead.",
    );
  }
  if (files.profileExplicit && files.credentials === undefined && files.config === undefined) {
    throw new ConfigError(
      `AWS profile '${files.profile}' was not found in '${files.credentialsPath}' or ` +
        `'${files.configPath}': fix the remote's 'profile' option or AWS_PROFILE.`,
    );
  }
  return undefined;
}
