/**
 * The keys DVC's config schema accepts (dvc/config_schema.py), per section
 * and, for remotes, per URL scheme. Unknown keys are refused as DVC refuses
 * them: `extra keys not allowed @ data[…]`.
 */
export type Check =
  | "str"
  | "bool"
  | "int"
  | "posint"
  | "nonneg_float"
  | "float"
  | "lower"
  | "cache_type"
  | "bool_or_str"
  | "python_bool"
  | "any"
  | { readonly choices: readonly string[] }
  | { readonly intRange: readonly [number, number] };

export type KeyTable = Readonly<Record<string, Check>>;

const REMOTE_COMMON: KeyTable = {
  url: "str",
  checksum_jobs: "posint",
  jobs: "posint",
  worktree: "bool",
  no_traverse: "bool",
  version_aware: "bool",
};

const LOCAL_COMMON: KeyTable = {
  type: "cache_type",
  protected: "bool",
  shared: { choices: ["group"] },
  slow_link_warning: "bool",
  verify: "bool",
};

const HTTP_COMMON: KeyTable = {
  auth: { choices: ["basic", "digest", "custom"] },
  custom_auth_header: "str",
  user: "str",
  password: "str",
  ask_password: "bool",
  ssl_verify: "bool_or_str",
  method: "str",
  connect_timeout: "nonneg_float",
  read_timeout: "nonneg_float",
  verify: "bool",
};

const WEBDAV_COMMON: KeyTable = {
  user: "str",
  password: "str",
  ask_password: "bool",
  token: "str",
  custom_auth_header: "str",
  cert_path: "str",
  key_path: "str",
  timeout: "int",
  ssl_verify: "bool_or_str",
  verify: "bool",
};

/** Remote options by URL scheme ("" = local path). */
export const REMOTE_KEYS: Readonly<Record<string, KeyTable>> = {
  "": { ...LOCAL_COMMON, ...REMOTE_COMMON },
  s3: {
    region: "str",
    profile: "str",
    credentialpath: "str",
    configpath: "str",
    endpointurl: "str",
    access_key_id: "str",
    secret_access_key: "str",
    session_token: "str",
    listobjects: "bool",
    use_ssl: "bool",
    allow_anonymous_login: "bool",
    ssl_verify: "bool_or_str",
    sse: "str",
    sse_kms_key_id: "str",
    sse_customer_algorithm: "str",
    sse_customer_key: "str",
    acl: "str",
    grant_read: "str",
    grant_read_acp: "str",
    grant_write_acp: "str",
    grant_full_control: "str",
    cache_regions: "python_bool",
    read_timeout: "int",
    connect_timeout: "int",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  gs: {
    projectname: "str",
    credentialpath: "str",
    endpointurl: "str",
    allow_anonymous_login: "bool",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  ssh: {
    type: "cache_type",
    port: "int",
    user: "str",
    password: "str",
    ask_password: "bool",
    passphrase: "str",
    ask_passphrase: "bool",
    keyfile: "str",
    timeout: "int",
    gss_auth: "bool",
    allow_agent: "bool",
    max_sessions: "int",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  hdfs: { user: "str", kerb_ticket: "str", ...REMOTE_COMMON },
  webhdfs: {
    kerberos: "bool",
    kerberos_principal: "str",
    proxy_to: "str",
    ssl_verify: "bool_or_str",
    token: "str",
    use_https: "bool",
    user: "str",
    password: "str",
    data_proxy_target: "str",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  azure: {
    connection_string: "str",
    sas_token: "str",
    account_name: "str",
    account_key: "str",
    tenant_id: "str",
    client_id: "str",
    client_secret: "str",
    allow_anonymous_login: "bool",
    exclude_environment_credential: "bool",
    exclude_visual_studio_code_credential: "bool",
    exclude_shared_token_cache_credential: "bool",
    exclude_managed_identity_credential: "bool",
    verify: "bool",
    timeout: "int",
    read_timeout: "int",
    connection_timeout: "int",
    ...REMOTE_COMMON,
  },
  oss: {
    oss_key_id: "str",
    oss_key_secret: "str",
    oss_endpoint: "str",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  gdrive: {
    profile: "str",
    gdrive_use_service_account: "bool",
    gdrive_client_id: "str",
    gdrive_client_secret: "str",
    gdrive_user_credentials_file: "str",
    gdrive_service_account_user_email: "str",
    gdrive_service_account_json_file_path: "str",
    gdrive_trash_only: "bool",
    gdrive_acknowledge_abuse: "bool",
    verify: "bool",
    ...REMOTE_COMMON,
  },
  http: { ...HTTP_COMMON, ...REMOTE_COMMON },
  https: { ...HTTP_COMMON, ...REMOTE_COMMON },
  webdav: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
  webdavs: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
};

/** Plain sections and their keys. */
export const SECTION_KEYS: Readonly<Record<string, KeyTable>> = {
  core: {
    remote: "lower",
    checksum_jobs: "posint",
    interactive: "bool",
    analytics: "bool",
    hardlink_lock: "bool",
    no_scm: "bool",
    autostage: "bool",
    experiments: "bool",
    check_update: "bool",
    site_cache_dir: "str",
    machine: "lower",
  },
  cache: {
    local: "str",
    s3: "str",
    gs: "str",
    hdfs: "str",
    webhdfs: "str",
    ssh: "str",
    azure: "str",
    dir: "str",
    ...LOCAL_COMMON,
  },
  state: { dir: "str", row_limit: "posint", row_cleanup_quota: { intRange: [0, 100] } },
  index: { dir: "str" },
  feature: { machine: "bool" },
  plots: { html_template: "str", auto_open: "bool", out_dir: "str" },
  exp: {
    code: "str",
    data: "str",
    models: "str",
    metrics: "str",
    params: "str",
    plots: "str",
    live: "str",
    auto_push: "bool",
    git_remote: "str",
  },
  parsing: {
    bool: { choices: ["store_true", "boolean_optional"] },
    list: { choices: ["nargs", "append"] },
  },
  hydra: {
    enabled: "bool",
    config_dir: "str",
    config_module: "str",
    config_name: "str",
    plugins_path: "str",
  },
  studio: { token: "str", url: "str", repo_url: "str", offline: "bool" },
};

/** Keys of `['machine "x"']` sections. */
export const MACHINE_KEYS: KeyTable = {
  cloud: { choices: ["aws", "azure"] },
  region: { choices: ["us-west", "us-east", "eu-west", "eu-north"] },
  image: "str",
  spot: "bool",
  spot_price: "float",
  instance_hdd_size: "int",
  instance_type: "lower",
  instance_gpu: "lower",
  ssh_private: "str",
  startup_script: "str",
  setup_script: "str",
};

/** Keys of `['db "x"']` sections. */
export const DB_KEYS: KeyTable = { url: "str", username: "str", password: "str" };

/** Sections whose unknown keys DVC drops (with a warning) instead of refusing. */
export const LENIENT_SECTIONS: ReadonlySet<string> = new Set(["feature"]);
