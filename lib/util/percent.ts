/**
 * Percent-decoding that never throws, like Python's `urllib.parse.unquote`:
 * each run of valid `%XX` escapes is decoded when it is valid UTF-8 and kept
 * as written otherwise, and a stray `%` stays a `%`. (`decodeURIComponent`
 * throws a URIError on the first malformed escape of a user's URL.)
 */
export function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}
