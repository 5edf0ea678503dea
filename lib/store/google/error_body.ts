import { parseJsonObject } from "../oauth_token.ts";

/**
 * The `reason`, `location` (of the first entry of `errors`, as PyDrive2 reads
 * them) and `message` of a Google API error body
 * (`{"error": {"code", "message", "errors": [{reason, location}]}}`).
 */
export function googleErrorDetail(
  text: string,
): { reason: string; message: string; location: string } {
  const error = parseJsonObject(text)?.["error"];
  if (typeof error !== "object" || error === null) return { reason: "", message: "", location: "" };
  const record = error as Record<string, unknown>;
  const first = Array.isArray(record["errors"]) ? record["errors"][0] : undefined;
  const reason = typeof first === "object" && first !== null &&
      typeof (first as Record<string, unknown>)["reason"] === "string"
    ? (first as Record<string, string>)["reason"]!
    : typeof record["status"] === "string"
    ? record["status"]
    : "";
  const message = typeof record["message"] === "string"
    ? record["message"].split("\n")[0]!.slice(0, 200)
    : "";
  const location = typeof first === "object" && first !== null &&
      typeof (first as Record<string, unknown>)["location"] === "string"
    ? (first as Record<string, string>)["location"]!
    : "";
  return { reason, message, location };
}
