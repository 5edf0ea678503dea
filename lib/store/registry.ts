import { ConfigError } from "../errors/mod.ts";
import { createAzureStore } from "./azure/mod.ts";
import { createGcsStore } from "./gcs/mod.ts";
import { createGDriveStore } from "./gdrive/mod.ts";
import { composeStore, type StoreWrappers } from "./compose.ts";
import { createHttpStore } from "./http.ts";
import { createLocalStore } from "./local.ts";
import { createS3Store } from "./s3/mod.ts";
import { createSftpStore } from "./sftp/mod.ts";
import type { Store, StoreContext, StoreFactory } from "./types.ts";

/** Store backends by DVC remote type ("" = local path). A new backend is one line here. */
const FACTORIES: Record<string, StoreFactory> = {
  "": createLocalStore,
  file: createLocalStore,
  s3: createS3Store,
  ssh: createSftpStore,
  http: createHttpStore,
  https: createHttpStore,
  azure: createAzureStore,
  gs: createGcsStore,
  gdrive: createGDriveStore,
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
export function openStore(
  remote: RemoteSpec,
  context: StoreContext,
  wrappers: StoreWrappers = {},
): Store {
  const factory = FACTORIES[remote.type];
  if (factory === undefined) {
    throw new ConfigError(
      `configuration error - remote '${remote.name}' uses '${remote.type}://', which dxp does not support; ` +
        "supported: local paths, s3://, gs://, azure://, gdrive://, http(s)://, ssh://",
    );
  }
  return composeStore(factory(remote.url, remote.options, context), wrappers);
}
