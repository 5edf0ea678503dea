import { ConfigError } from "../../errors/mod.ts";

/** The parts of an Azure Storage connection string a Blob client uses. */
export interface ConnectionString {
  /** Blob endpoint without a trailing `/`. */
  readonly endpoint: string;
  readonly accountName: string | undefined;
  readonly accountKey: string | undefined;
  /** SharedAccessSignature, without a leading `?`. */
  readonly sas: string | undefined;
}

/** Azurite's well-known development account (the emulator's documented defaults). */
const DEVELOPMENT = {
  endpoint: "http://127.0.0.1:10000/devstoreaccount1",
  accountName: "devstoreaccount1",
  accountKey:
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
};

/**
 * Parses `Key=Value;…` as azure-storage-blob does (split on the first `=`,
 * trailing `;` allowed; names matched case-insensitively): the endpoint is
 * `BlobEndpoint`, else `<DefaultEndpointsProtocol>://<AccountName>.blob.<EndpointSuffix>`.
 * `UseDevelopmentStorage=true` stands for Azurite's default account.
 * Messages never quote the string (it holds the key).
 */
export function parseConnectionString(text: string, source: string): ConnectionString {
  const fields = new Map<string, string>();
  for (const part of text.split(";")) {
    const trimmed = part.trim();
    if (trimmed === "") continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) {
      throw new ConfigError(
        `The Azure connection string from ${source} is malformed (a part has no 'Name=value'): ` +
          "copy it again from the storage account's Access keys page.",
      );
    }
    fields.set(trimmed.slice(0, eq).trim().toLowerCase(), trimmed.slice(eq + 1).trim());
  }
  if ((fields.get("usedevelopmentstorage") ?? "").toLowerCase() === "true") {
    const proxy = fields.get("developmentstorageproxyuri");
    return {
      ...DEVELOPMENT,
      endpoint: proxy ? `${proxy.replace(/\/+$/, "")}/devstoreaccount1` : DEVELOPMENT.endpoint,
      sas: undefined,
    };
  }
  const accountName = fields.get("accountname") || undefined;
  let endpoint = fields.get("blobendpoint") || undefined;
  if (endpoint === undefined) {
    if (accountName === undefined) {
      throw new ConfigError(
        `The Azure connection string from ${source} has neither BlobEndpoint nor AccountName: ` +
          "copy it again from the storage account's Access keys page.",
      );
    }
    const protocol = fields.get("defaultendpointsprotocol") || "https";
    const suffix = fields.get("endpointsuffix") || "core.windows.net";
    endpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  try {
    new URL(endpoint);
  } catch {
    throw new ConfigError(
      `The BlobEndpoint of the Azure connection string from ${source} is not a URL.`,
    );
  }
  const sas = fields.get("sharedaccesssignature")?.replace(/^\?/, "") || undefined;
  return {
    endpoint: endpoint.replace(/\/+$/, ""),
    accountName,
    accountKey: fields.get("accountkey") || undefined,
    sas,
  };
}
