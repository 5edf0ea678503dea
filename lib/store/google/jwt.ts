import { Buffer } from "node:buffer";
import { ConfigError } from "../../errors/mod.ts";

/** base64url without padding (RFC 7515 §2). */
export function base64url(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes)
    .toString("base64url");
}

const keyCache = new Map<string, Promise<CryptoKey>>();

/** Imports a PEM RSA private key (PKCS#8, as in Google service-account key files) once. */
function importKey(pem: string, source: string): Promise<CryptoKey> {
  let key = keyCache.get(pem);
  if (key === undefined) {
    key = (async () => {
      const body = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem)?.[1];
      if (body === undefined) {
        throw new ConfigError(
          `The private_key in ${source} is not a PEM PKCS#8 key ('-----BEGIN PRIVATE KEY-----'): ` +
            "download the service account's JSON key again.",
        );
      }
      try {
        return await crypto.subtle.importKey(
          "pkcs8",
          new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64")),
          { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
          false,
          ["sign"],
        );
      } catch (error) {
        throw new ConfigError(
          `The private_key in ${source} is not a valid RSA key: download the service ` +
            "account's JSON key again.",
          { cause: error },
        );
      }
    })();
    keyCache.set(pem, key);
    key.catch(() => keyCache.delete(pem));
  }
  return key;
}

/**
 * A compact JWS signed with RS256 (RSASSA-PKCS1-v1_5 / SHA-256) through
 * WebCrypto: `base64url(header).base64url(claims).base64url(signature)`.
 * `source` names the key file in messages (never the key).
 */
export async function signJwtRs256(
  header: Readonly<Record<string, unknown>>,
  claims: Readonly<Record<string, unknown>>,
  privateKeyPem: string,
  source: string,
): Promise<string> {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const key = await importKey(privateKeyPem, source);
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key,
    new TextEncoder().encode(input),
  );
  return `${input}.${base64url(new Uint8Array(signature))}`;
}
