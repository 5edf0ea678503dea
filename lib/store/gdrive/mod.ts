export {
  createGDriveStore,
  DEFAULT_GDRIVE_TUNING,
  GDriveStore,
  type GDriveTuning,
  openGDriveStore,
} from "./gdrive_store.ts";
export { parseGDriveRemote } from "./options.ts";
export { gdriveLogin, type LoginIo, type LoginResult } from "./login.ts";
