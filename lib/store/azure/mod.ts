export { AzureStore, createAzureStore, openAzureStore } from "./azure_store.ts";
export { type AzureTuning, DEFAULT_AZURE_TUNING } from "./azure_put.ts";
export { parseAzureRemote } from "./options.ts";
