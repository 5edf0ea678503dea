import process from "node:process";
import { Command } from "@commander-js/extra-typings";
import { parseIntOption, type RunState, runWith, withCommonOptions } from "../../command_kit.ts";

/**
 * `dxp remote login [NAME] [--port N]`: the first sign-in to a Google Drive
 * remote, also on a machine without a browser — open the printed URL
 * anywhere, then either forward the port (`ssh -L`) or paste the address
 * the browser ends on.
 */
export function remoteLoginCommand(state: RunState) {
  const cmd = new Command("login")
    .description("Sign in to a Google Drive remote and save the credentials as DVC does.")
    .argument("[name]", "name of the remote (default: the default remote)")
    .option(
      "--port <port>",
      "localhost port the browser returns to (default 8080, else 8090, else any; 0 = any)",
      parseIntOption,
    );
  withCommonOptions(cmd);
  return cmd.action((name, opts, command) =>
    runWith(state, command, async (ctx) => {
      const { remoteLogin } = await import("../../../engine/remote_login.ts");
      const { createInterface } = await import("node:readline");
      const input = createInterface({ input: process.stdin, terminal: false });
      try {
        const { remote, path } = await remoteLogin({
          cwd: ctx.cwd,
          env: ctx.env,
          name,
          io: {
            ...(opts.port === undefined ? {} : { ports: [opts.port] }),
            lines: input,
            signal: ctx.signal,
            onUrl: ({ url, port, redirectUri, dvcClient }) =>
              process.stderr.write(
                (dvcClient
                  ? "Note: Google blocks new sign-ins through DVC's built-in OAuth client; if it " +
                    "says 'This app is blocked', create a Desktop OAuth client in Google Cloud " +
                    "and set the remote's gdrive_client_id and gdrive_client_secret.\n\n"
                  : "") +
                  "Open this URL in a browser and allow access to Google Drive:\n\n" +
                  `    ${url}\n\n` +
                  `Waiting for the browser to come back to ${redirectUri}\n` +
                  "On a machine without a browser, either forward the port from the computer " +
                  `with the browser (ssh -L ${port}:localhost:${port} <this machine>), or paste ` +
                  `here the address the browser shows after you allowed access (${redirectUri}?…) ` +
                  "and press Enter.\n",
              ),
          },
        });
        ctx.out(`Logged in for remote '${remote}': credentials saved to '${path}'.\n`);
      } finally {
        input.close();
        process.stdin.destroy();
      }
    })
  );
}
