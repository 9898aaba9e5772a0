import { inject } from "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    template: string;
  }
}

process.env.FIELDSYNC_SDK_TEMPLATE = inject("template");
