import { AwsV4Signer } from "aws4fetch";
import { createHash, createHmac } from "node:crypto";

/** What one request needs signed (header signing, SigV4, payload not hashed). */
export interface SignInput {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly region: string;
  /** Derived signing keys by secret, day and region: kept by the caller across requests. */
  readonly keys: Map<string, Uint8Array>;
  /** `YYYYMMDDTHHMMSSZ`; now when absent (tests pin it). */
  readonly datetime?: string;
}

/**
 * Signs an S3 request (AWS SigV4 in the `Authorization` header) and returns
 * the headers to send. aws4fetch builds the canonical request — path and
 * query encoding, header canonicalisation, the date and token headers — and
 * only the hashing is done here, synchronously with node:crypto: aws4fetch
 * hashes through WebCrypto, a promise and a key import per HMAC, which cost
 * ~65 µs a request against ~24 µs this way (measured under Bun; a pull of
 * 100,000 small objects signs 100,000 requests on a CPU that the server
 * shares on a small machine).
 */
export function signS3Request(input: SignInput): Headers {
  const signer = new AwsV4Signer({
    method: input.method,
    url: input.url,
    headers: input.headers,
    accessKeyId: input.accessKeyId,
    secretAccessKey: input.secretAccessKey,
    ...(input.sessionToken ? { sessionToken: input.sessionToken } : {}),
    service: "s3",
    region: input.region,
    ...(input.datetime ? { datetime: input.datetime } : {}),
  });
  const day = signer.datetime.slice(0, 8);
  const cacheKey = `${input.secretAccessKey}\n${day}\n${input.region}`;
  let key = input.keys.get(cacheKey);
  if (key === undefined) {
    key = hmac(
      hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, day), input.region), "s3"),
      "aws4_request",
    );
    input.keys.set(cacheKey, key);
  }
  // The constructor set X-Amz-Content-Sha256 (UNSIGNED-PAYLOAD unless the caller did).
  const canonical = [
    signer.method.toUpperCase(),
    signer.encodedPath,
    signer.encodedSearch,
    `${signer.canonicalHeaders}\n`,
    signer.signedHeaders,
    signer.headers.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
  ].join("\n");
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    signer.datetime,
    signer.credentialString,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const signature = createHmac("sha256", key).update(stringToSign).digest("hex");
  signer.headers.set(
    "Authorization",
    `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${signer.credentialString}, ` +
      `SignedHeaders=${signer.signedHeaders}, Signature=${signature}`,
  );
  return signer.headers;
}

function hmac(key: string | Uint8Array, text: string): Uint8Array {
  return createHmac("sha256", key).update(text).digest();
}
