/**
 * A loopback OAuth 2.0 token endpoint (RFC 6749 §3.2) for contract tests:
 * form POSTs are parsed and handed to `grant`, whose answer is sent as JSON.
 * Every request is recorded, so tests can count token requests (one per
 * command, not one per object). Errors follow §5.2 (`{"error": …}`).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { concatBytes } from "../../lib/util/bytes.ts";

export interface TokenRequest {
  path: string;
  form: Record<string, string>;
}

export type GrantAnswer =
  | { token: string; expiresIn?: number; extra?: Record<string, unknown> }
  | { status: number; error: string; description?: string };

export interface TokenServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

export async function startTokenServer(
  grant: (request: TokenRequest) => GrantAnswer | Promise<GrantAnswer>,
): Promise<TokenServer> {
  const requests: TokenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Uint8Array[] = [];
    req.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    req.on("end", async () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST") return send(405, { error: "invalid_request" });
      const type = req.headers["content-type"] ?? "";
      if (!type.startsWith("application/x-www-form-urlencoded")) {
        return send(400, { error: "invalid_request", error_description: "form body expected" });
      }
      const text = new TextDecoder().decode(concatBytes(chunks));
      const form = Object.fromEntries(new URLSearchParams(text));
      const request = { path: new URL(req.url ?? "/", "http://x").pathname, form };
      requests.push(request);
      const answer = await grant(request);
      if ("error" in answer) {
        return send(answer.status, {
          error: answer.error,
          ...(answer.description ? { error_description: answer.description } : {}),
        });
      }
      send(200, {
        access_token: answer.token,
        token_type: "Bearer",
        expires_in: answer.expiresIn ?? 3600,
        ...answer.extra,
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** base64url of a JSON value (JWT header/claims). */
export function b64urlJson(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
