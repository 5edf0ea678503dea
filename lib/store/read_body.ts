import { classifyFetchFailure } from "./http_fetch.ts";

/**
 * A response body as text; a body cut short on the wire (reset, timeout)
 * becomes the same transient StoreError as a failed request, naming `action`.
 */
export async function readBodyText(
  response: Response,
  context: {
    readonly action: string;
    readonly where: string;
    readonly signal?: AbortSignal | undefined;
  },
): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw classifyFetchFailure(error, context, undefined, 0);
  }
}
