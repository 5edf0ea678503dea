import { ConfigError } from "../errors/mod.ts";
import { findDvcDir, loadDvcConfig } from "../project/dvc_config/mod.ts";
import { gdriveLogin, type LoginIo } from "../store/gdrive/mod.ts";

/**
 * `dxp remote login [NAME]`: signs in to the Google Drive remote NAME (or the
 * default remote) and saves the credentials where DVC keeps them. Only Drive
 * remotes with user credentials need this; dxp never starts a login in the
 * middle of a transfer.
 */
export async function remoteLogin(input: {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly name?: string | undefined;
  readonly io: LoginIo;
}): Promise<{ remote: string; path: string }> {
  const config = await loadDvcConfig({ dvcDir: findDvcDir(input.cwd), env: input.env });
  const name = input.name ?? config.coreRemote;
  if (name === undefined) {
    throw new ConfigError(
      "no remote specified and no default remote set: name the Google Drive remote to log in to.",
    );
  }
  const remote = config.remote(name);
  if (remote.type !== "gdrive") {
    throw new ConfigError(
      `remote '${remote.name}' is '${remote.url}': only Google Drive remotes (gdrive://) need a login.`,
    );
  }
  const { path } = await gdriveLogin(remote.url, remote.options, input.env, input.io);
  return { remote: remote.name, path };
}
