import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    template: string;
    sharedUrl: string;
  }
}

process.env.FIELDSYNC_SDK_TEMPLATE = inject("template");
process.env.FIELDSYNC_SDK_SHARED_URL = inject("sharedUrl");
