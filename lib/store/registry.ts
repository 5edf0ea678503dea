import { ConfigError } from "../errors/mod.ts";
import { composeStore, type StoreWrappers } from "./compose.ts";
import { createLocalStore } from "./local.ts";
import type { Store, StoreContext, StoreFactory } from "./types.ts";

/**
 * Store backends by DVC remote type ("" = local path). A new backend is one
 * line here. All but the local one are loaded when a remote of their type is
 * opened: together (with node:crypto, the AWS signer, the SSH client) they
 * are most of the code a data command would otherwise load at every run.
 */
const FACTORIES: Record<string, () => Promise<StoreFactory>> = {
  "": () => Promise.resolve(createLocalStore),
  file: () => Promise.resolve(createLocalStore),
  s3: async () => (await import("./s3/mod.ts")).createS3Store,
  ssh: async () => (await import("./sftp/mod.ts")).createSftpStore,
  http: async () => (await import("./http.ts")).createHttpStore,
  https: async () => (await import("./http.ts")).createHttpStore,
  azure: async () => (await import("./azure/mod.ts")).createAzureStore,
  gs: async () => (await import("./gcs/mod.ts")).createGcsStore,
  gdrive: async () => (await import("./gdrive/mod.ts")).createGDriveStore,
};

/** A DVC remote as the config layer resolves it. */
export interface RemoteSpec {
  readonly name: string;
  readonly url: string;
  /** "" for a local path, else the URL scheme. */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
}

/**
 * Opens the store for a DVC remote, wrapped with retries and a concurrency
 * bound. Unsupported remote types fail with one line naming the remote.
 */
export async function openStore(
  remote: RemoteSpec,
  context: StoreContext,
  wrappers: StoreWrappers = {},
): Promise<Store> {
  const load = FACTORIES[remote.type];
  if (load === undefined) {
    throw new ConfigError(
      `configuration error - remote '${remote.name}' uses '${remote.type}://', which dxp does not support; ` +
        "supported: local paths, s3://, gs://, azure://, gdrive://, http(s)://, ssh://",
    );
  }
  const factory = await load();
  return composeStore(factory(remote.url, remote.options, context), wrappers);
}
