/**
 * The synchronous S3 signer against aws4fetch's own (WebCrypto) signing of
 * the same requests: the Authorization header and every other header must
 * come out identical, whatever the key, query, headers, token and region.
 * That RGW accepts what it signs is the S3 end-to-end tests' part.
 */
import assert from "node:assert/strict";
import { AwsV4Signer } from "aws4fetch";
import { signS3Request } from "../lib/store/s3/s3_signer.ts";

const ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const WHEN = "20261203T171500Z";

interface Case {
  readonly name: string;
  readonly method: string;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly token?: string;
  readonly region?: string;
}

const CASES: Case[] = [
  {
    name: "GET of an object key",
    method: "GET",
    url: "http://127.0.0.1:7480/bucket/dvc%20store/files/md5/ab/cdef0123456789abcdef0123456789",
  },
  {
    name: "HEAD with a session token, other region",
    method: "HEAD",
    url: "https://bucket.s3.eu-west-3.amazonaws.com/files/md5/00/11",
    token: "FwoGZXIvYXdzEJr//////////wEaDA+token=",
    region: "eu-west-3",
  },
  {
    name: "list with query parameters to sort and escape",
    method: "GET",
    url: "http://127.0.0.1:7480/bucket?list-type=2&prefix=dvc%20store%2Ffiles%2Fmd5%2Fab%2F" +
      "&max-keys=1000&continuation-token=1%2Fab%2Bcd%3D%3D",
  },
  {
    name: "PUT with body headers",
    method: "PUT",
    url: "http://127.0.0.1:7480/bucket/odd%20%2B%20key%20%C3%A9%2A%21/x%27y",
    headers: {
      "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
      "Content-Type": "application/octet-stream",
      "x-amz-meta-note": "  two   spaces  ",
    },
  },
  {
    name: "multipart part",
    method: "PUT",
    url: "http://127.0.0.1:7480/bucket/big?partNumber=3&uploadId=2~abc-DEF_ghi",
    headers: { "Content-Length": "5242880" },
  },
  {
    name: "payload hash given by the caller",
    method: "POST",
    url: "http://127.0.0.1:7480/bucket/big?uploads",
    headers: {
      "X-Amz-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    },
  },
];

async function byAws4fetch(c: Case): Promise<Headers> {
  const signer = new AwsV4Signer({
    method: c.method,
    url: c.url,
    headers: new Headers(c.headers ?? {}),
    accessKeyId: ID,
    secretAccessKey: SECRET,
    ...(c.token ? { sessionToken: c.token } : {}),
    service: "s3",
    region: c.region ?? "us-east-1",
    datetime: WHEN,
  });
  return (await signer.sign()).headers;
}

function ours(c: Case, keys = new Map<string, Uint8Array>(), datetime = WHEN): Headers {
  return signS3Request({
    method: c.method,
    url: c.url,
    headers: new Headers(c.headers ?? {}),
    accessKeyId: ID,
    secretAccessKey: SECRET,
    sessionToken: c.token,
    region: c.region ?? "us-east-1",
    keys,
    datetime,
  });
}

function asObject(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers.entries()].sort(([a], [b]) => a < b ? -1 : 1));
}

for (const c of CASES) {
  Deno.test(`s3 signer: ${c.name} signs exactly as aws4fetch`, async () => {
    const expected = asObject(await byAws4fetch(c));
    const got = asObject(ours(c));
    assert.match(got["authorization"]!, /Signature=[0-9a-f]{64}$/);
    assert.deepEqual(got, expected);
  });
}

Deno.test("s3 signer: a kept signing key is reused only for its own day, region and secret", async () => {
  const keys = new Map<string, Uint8Array>();
  const c = CASES[0]!;
  const first = ours(c, keys).get("authorization");
  assert.equal(keys.size, 1);
  // The same day again: the kept key, the same signature.
  assert.equal(ours(c, keys).get("authorization"), first);
  assert.equal(keys.size, 1);
  // Another day and another region derive their own keys, and still match aws4fetch.
  const nextDay = "20261204T000001Z";
  const late = ours(c, keys, nextDay).get("authorization");
  const lateRef = (await new AwsV4Signer({
    method: c.method,
    url: c.url,
    accessKeyId: ID,
    secretAccessKey: SECRET,
    service: "s3",
    region: "us-east-1",
    datetime: nextDay,
  }).sign()).headers.get("authorization");
  assert.equal(late, lateRef);
  const other = CASES[1]!;
  assert.deepEqual(asObject(ours(other, keys)), asObject(await byAws4fetch(other)));
  assert.equal(keys.size, 3);
});
