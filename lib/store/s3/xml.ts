/**
 * Just enough XML for S3 responses: the text of named elements. S3 bodies are
 * flat and machine-made (no CDATA, no comments inside the elements we read),
 * so a tag scan is exact; entity references are decoded.
 */

/** Text of every `<name>…</name>` element in document order (entities decoded). */
export function xmlTexts(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${name}(?:\\s[^>]*)?>`, "g");
  const close = `</${name}>`;
  let match: RegExpExecArray | null;
  while ((match = open.exec(xml)) !== null) {
    const start = match.index + match[0].length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    out.push(decodeXmlText(xml.slice(start, end)));
    open.lastIndex = end + close.length;
  }
  return out;
}

/** Text of the first `<name>` element, or undefined. */
export function xmlText(xml: string, name: string): string | undefined {
  return xmlTexts(xml, name)[0];
}

/** The raw inner XML of every `<name>` element (for nested records such as `<Contents>`). */
export function xmlBlocks(xml: string, name: string): string[] {
  const out: string[] = [];
  const open = new RegExp(`<${name}(?:\\s[^>]*)?>`, "g");
  const close = `</${name}>`;
  let match: RegExpExecArray | null;
  while ((match = open.exec(xml)) !== null) {
    const start = match.index + match[0].length;
    const end = xml.indexOf(close, start);
    if (end < 0) break;
    out.push(xml.slice(start, end));
    open.lastIndex = end + close.length;
  }
  return out;
}

const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes `&amp;`, `&lt;`, `&#38;`, `&#x26;` and friends. */
export function decodeXmlText(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (all, ref: string) => {
    if (!ref.startsWith("#")) return NAMED[ref] ?? all;
    const code = ref.startsWith("#x") ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    // A reference past U+10FFFF is no character (String.fromCodePoint would throw): keep it as written.
    return code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}

/** Escapes text for an XML element body. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
