/**
 * Fuzzing what storage servers send: SFTP packets (framing, VERSION, NAME,
 * ATTRS, DATA, STATUS, in any order and split anywhere) and the XML of S3
 * and Azure answers (list pages, errors, multipart answers).
 */
import assert from "node:assert/strict";
import { decodeXmlText, xmlBlocks, xmlText, xmlTexts } from "../lib/store/s3/xml.ts";
import { encodePacket, FX, FXP, SftpProtocolError } from "../lib/store/sftp/packet.ts";
import { SftpClient, SftpStatusError } from "../lib/store/sftp/sftp_client.ts";
import {
  chunked,
  fc,
  fuzzTarget,
  fuzzTargetAsync,
  isExactly,
  mutatedBytes,
} from "./helpers/fuzz.ts";
import { concatBytes } from "../lib/util/bytes.ts";

/** A server's whole answer to INIT, REALPATH(1), READDIR(2), STAT(3), READ(4), WRITE(5). */
function serverAnswers(): Uint8Array {
  return concatBytes([
    encodePacket(FXP.VERSION, undefined, [
      { u32: 3 },
      { str: "limits@openssh.com" },
      { str: "1" },
    ]),
    encodePacket(FXP.NAME, 1, [{ u32: 1 }, { str: "/home/u" }, { str: "" }, {
      attrs: {},
    }]),
    encodePacket(FXP.NAME, 2, [
      { u32: 2 },
      { str: "ab" },
      { str: "drwxr-xr-x ab" },
      { attrs: { mode: 0o40755 } },
      { str: "cdef0123" },
      { str: "-rw-r--r-- cdef" },
      { attrs: { size: 12, mode: 0o100644 } },
    ]),
    encodePacket(FXP.ATTRS, 3, [{ attrs: { size: 2 ** 40, mode: 0o100644 } }]),
    encodePacket(FXP.DATA, 4, [{ str: "hello" }]),
    encodePacket(FXP.STATUS, 5, [{ u32: FX.FAILURE }, { str: "disk full" }, { str: "" }]),
  ]);
}

const SFTP_TOKENS = [
  new Uint8Array([0xff, 0xff, 0xff, 0xff]),
  new Uint8Array([0x80, 0, 0, 0]),
  new Uint8Array([0, 0, 0, 0]),
  new Uint8Array([0, 0, 0, 1]),
  new Uint8Array([0, 0x40, 0, 0]),
  new TextEncoder().encode("../"),
];

Deno.test("fuzz: SftpClient settles every request with a value or its own errors on any server bytes", async () => {
  await fuzzTargetAsync(
    "sftp packets",
    fc.tuple(mutatedBytes([serverAnswers()], SFTP_TOKENS), fc.array(fc.nat(), { maxLength: 8 })),
    async ([bytes, cuts]) => {
      const client = new SftpClient(() => {});
      const handshake = client.handshake();
      const handle = new Uint8Array([1, 2, 3, 4]);
      const requests = [
        client.realpath("."),
        client.readdir(handle),
        client.stat("x"),
        client.read(handle, 0, 5),
        client.write(handle, 0, new Uint8Array(3)),
      ];
      for (const chunk of chunked(bytes, cuts)) client.receive(chunk);
      // End of the channel: whatever is still waiting fails, as when ssh exits.
      client.fail(new Error("the connection closed"));
      const settled = await Promise.allSettled([handshake, ...requests]);
      for (const s of settled) if (s.status === "rejected") throw s.reason;
      return settled;
    },
    { allowed: isExactly(Error, SftpStatusError, SftpProtocolError) },
  );
});

const S3_PAGES = [
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>p/</Prefix>` +
  `<IsTruncated>true</IsTruncated><Contents><Key>p/files/md5/ab/cd&amp;e</Key><Size>3</Size>` +
  `</Contents><Contents><Key>p/x</Key></Contents><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken></ListBucketResult>`,
  `<Error><Code>SlowDown</Code><Message>Please &lt;reduce&gt; &#34;rate&#x22;</Message></Error>`,
  `<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>`,
  `<EnumerationResults><Blobs><Blob><Name>files/md5/ab/cd</Name></Blob></Blobs><NextMarker>2!72!MDAwMD</NextMarker></EnumerationResults>`,
];

const XML_TOKENS = [
  "&#x110000;",
  "&#xD800;",
  "&#99999999999999999999;",
  "&#;",
  "&amp",
  "<Contents>",
  "</Contents>",
  "<Key ",
  "<![CDATA[",
  "<!--",
  "&lt;Key&gt;",
  "\u0000",
];

Deno.test("fuzz: S3/Azure XML readers return text or nothing, never throw", () => {
  fuzzTarget(
    "s3/azure xml",
    mutatedBytes(S3_PAGES.map((p) => new TextEncoder().encode(p)), XML_TOKENS).map((b) =>
      new TextDecoder().decode(b)
    ),
    (xml) => {
      const keys = xmlBlocks(xml, "Contents").map((block) => xmlText(block, "Key"));
      xmlTexts(xml, "Code");
      xmlText(xml, "NextContinuationToken");
      xmlBlocks(xml, "Blob").map((block) => xmlText(block, "Name"));
      return keys;
    },
    // These readers have no error of their own: any throw is a failure.
    { allowed: () => false },
  );
});

Deno.test("decodeXmlText() keeps a character reference that is no Unicode character as written", () => {
  assert.equal(decodeXmlText("a&#x110000;b"), "a&#x110000;b");
  assert.equal(decodeXmlText("&#99999999999999999999;"), "&#99999999999999999999;");
  assert.equal(decodeXmlText("&#x41;&#66;&amp;"), "AB&");
});
