/** The storage-adapter contract suite (filled in by the next commit). */
import type { StorageAdapter } from "../storage/adapter.js";

export interface ContractCase {
  name: string;
  run(make: () => StorageAdapter | Promise<StorageAdapter>): Promise<void>;
}

export const contractCases: ContractCase[] = [];
