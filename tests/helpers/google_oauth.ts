/**
 * Google's OAuth 2.0 token endpoint as documented, for the GCS and Drive
 * contract servers: the JWT bearer grant for service accounts (RFC 7523,
 * RS256 checked against the key's public half with node:crypto, `aud` must
 * be this endpoint, `exp` within an hour), the refresh-token grant and the
 * authorization-code grant (RFC 6749 §4.1, §6), with errors as Google sends
 * them (`invalid_grant`, `invalid_client`). Access tokens can be revoked
 * server-side while the client still believes them valid (`revokeAll`), to
 * exercise "401 → exactly one refresh".
 */
import { Buffer } from "node:buffer";
import {
  createHash,
  createPublicKey,
  createVerify,
  generateKeyPairSync,
  randomBytes,
} from "node:crypto";

export interface ServiceAccountFile {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

export interface IssuedToken {
  /** Who it was issued to (client email, refresh token's user, "metadata"). */
  principal: string;
  scope: string;
  /** `sub` of a service-account assertion (domain-wide delegation). */
  subject?: string;
  expiresAt: number;
}

export interface TokenRequestRecord {
  grant: string;
  form: Record<string, string>;
}

export class GoogleOAuth {
  /** Set by the server that mounts this at `/token`. */
  tokenUri = "";
  readonly tokenRequests: TokenRequestRecord[] = [];
  readonly tokens = new Map<string, IssuedToken>();
  /** Lifetime announced with each token (`expires_in`). */
  expiresIn = 3600;
  readonly #accounts = new Map<string, { publicPem: string }>();
  readonly #clients = new Map<string, string>();
  readonly #refreshTokens = new Map<string, { clientId: string; user: string }>();
  readonly #codes = new Map<
    string,
    { clientId: string; redirectUri: string; user: string; challenge?: string | undefined }
  >();

  /** A new service account whose key file points at this endpoint. */
  addServiceAccount(email: string): { file: ServiceAccountFile; publicPem: string } {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    this.#accounts.set(email, { publicPem });
    return {
      publicPem,
      file: {
        type: "service_account",
        project_id: "dxp-test",
        private_key_id: randomBytes(20).toString("hex"),
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
        client_email: email,
        client_id: String(100000000000 + this.#accounts.size),
        token_uri: this.tokenUri,
      },
    };
  }

  /** Registers an OAuth client (id → secret). */
  addClient(clientId: string, clientSecret: string): void {
    this.#clients.set(clientId, clientSecret);
  }

  /** A refresh token for `user`, issued to `clientId`. */
  addRefreshToken(clientId: string, user: string): string {
    const token = `1//refresh-${randomBytes(12).toString("hex")}`;
    this.#refreshTokens.set(token, { clientId, user });
    return token;
  }

  /**
   * What an authorization page hands back after consent: a one-time code.
   * With PKCE (RFC 7636, S256 only) the exchange must bring the verifier.
   */
  issueCode(
    clientId: string,
    redirectUri: string,
    user: string,
    pkce: { challenge?: string | undefined; method?: string | undefined } = {},
  ): string {
    if (pkce.challenge !== undefined && pkce.method !== "S256") {
      throw new Error("only S256 PKCE challenges are accepted");
    }
    const code = `4/code-${randomBytes(12).toString("hex")}`;
    this.#codes.set(code, { clientId, redirectUri, user, challenge: pkce.challenge });
    return code;
  }

  /** A token straight from the metadata server's default service account. */
  issue(principal: string, scope: string, subject?: string): string {
    const token = `ya29.${randomBytes(18).toString("base64url")}`;
    this.tokens.set(token, {
      principal,
      scope,
      ...(subject ? { subject } : {}),
      expiresAt: Date.now() + this.expiresIn * 1000,
    });
    return token;
  }

  /** The token's record when it is valid now. */
  check(token: string | undefined): IssuedToken | undefined {
    if (token === undefined) return undefined;
    const issued = this.tokens.get(token);
    return issued !== undefined && issued.expiresAt > Date.now() ? issued : undefined;
  }

  /** Every token issued so far stops working (the client is not told). */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** Handles one POST to the token endpoint: status and JSON body. */
  grant(form: Record<string, string>): { status: number; body: Record<string, unknown> } {
    const grant = form["grant_type"] ?? "";
    this.tokenRequests.push({ grant, form });
    const fail = (status: number, error: string, description: string) => ({
      status,
      body: { error, error_description: description },
    });
    const ok = (token: string, extra: Record<string, unknown> = {}) => ({
      status: 200,
      body: {
        access_token: token,
        expires_in: this.expiresIn,
        token_type: "Bearer",
        scope: this.tokens.get(token)!.scope,
        ...extra,
      },
    });
    if (grant === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      const claims = this.#verifyAssertion(form["assertion"] ?? "");
      if (typeof claims === "string") return fail(400, "invalid_grant", claims);
      return ok(
        this.issue(
          String(claims["iss"]),
          String(claims["scope"]),
          typeof claims["sub"] === "string" ? claims["sub"] : undefined,
        ),
      );
    }
    const clientId = form["client_id"] ?? "";
    if (grant === "refresh_token" || grant === "authorization_code") {
      if (this.#clients.get(clientId) !== form["client_secret"]) {
        return fail(401, "invalid_client", "The OAuth client was not found.");
      }
    }
    if (grant === "refresh_token") {
      const known = this.#refreshTokens.get(form["refresh_token"] ?? "");
      if (known === undefined || known.clientId !== clientId) {
        return fail(400, "invalid_grant", "Token has been expired or revoked.");
      }
      return ok(this.issue(known.user, form["scope"] ?? "granted"));
    }
    if (grant === "authorization_code") {
      const code = this.#codes.get(form["code"] ?? "");
      if (code === undefined || code.clientId !== clientId) {
        return fail(400, "invalid_grant", "Malformed auth code.");
      }
      if (code.redirectUri !== form["redirect_uri"]) {
        return fail(400, "redirect_uri_mismatch", "Bad Request");
      }
      if (
        code.challenge !== undefined &&
        createHash("sha256").update(form["code_verifier"] ?? "").digest("base64url") !==
          code.challenge
      ) {
        return fail(400, "invalid_grant", "Invalid code verifier.");
      }
      this.#codes.delete(form["code"]!);
      const refresh = this.addRefreshToken(clientId, code.user);
      return ok(this.issue(code.user, form["scope"] ?? "granted"), { refresh_token: refresh });
    }
    return fail(400, "unsupported_grant_type", `Invalid grant_type: ${grant}`);
  }

  /** The claims of a valid assertion, or the reason it is refused. */
  #verifyAssertion(jwt: string): Record<string, unknown> | string {
    const parts = jwt.split(".");
    if (parts.length !== 3) return "Invalid JWT: Token must be a short-lived token";
    const decode = (part: string) => {
      try {
        return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<
          string,
          unknown
        >;
      } catch {
        return undefined;
      }
    };
    const header = decode(parts[0]!);
    const claims = decode(parts[1]!);
    if (header?.["alg"] !== "RS256" || claims === undefined) return "Invalid JWT header";
    const account = this.#accounts.get(String(claims["iss"]));
    if (account === undefined) return "Invalid JWT Signature.";
    const verifier = createVerify("RSA-SHA256");
    verifier.update(`${parts[0]}.${parts[1]}`);
    if (!verifier.verify(createPublicKey(account.publicPem), Buffer.from(parts[2]!, "base64url"))) {
      return "Invalid JWT Signature.";
    }
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims["iat"]);
    const exp = Number(claims["exp"]);
    if (claims["aud"] !== this.tokenUri) return "Invalid JWT: Failed audience check.";
    if (!(iat <= now + 60 && exp > now && exp - iat <= 3600)) {
      return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.";
    }
    if (typeof claims["scope"] !== "string" || claims["scope"] === "") {
      return "Invalid JWT: scope is missing";
    }
    return claims;
  }
}
