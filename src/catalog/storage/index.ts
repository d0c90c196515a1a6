import { StorageDriverEntry } from "./types";

/** Every driver kubeplug can deploy, by catalog id. */
export const STORAGE_DRIVERS: Readonly<Record<string, StorageDriverEntry>> = {};
