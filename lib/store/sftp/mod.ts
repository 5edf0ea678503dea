export { createSftpStore, DEFAULT_SFTP_TUNING, SftpStore, type SftpTuning } from "./sftp_store.ts";
export { parseSshRemote, type SshRemote } from "./ssh_remote.ts";
