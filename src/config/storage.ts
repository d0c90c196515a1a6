import { z } from "zod";
import { strictObject } from "./zod";

/** Storage settings: CSI drivers and classes are not modelled yet, so any key here is an error. */
export const storageConfig = strictObject({});
export type StorageConfig = z.infer<typeof storageConfig>;
