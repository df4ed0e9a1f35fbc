/** What tests get for `typescript`: it loads on first use (see plan/deferred-sdk-modules.ts and jest.config.js). */
import { deferredModule } from "../../plan/deferred-module";
import { requireMain } from "./require-main";

export = deferredModule(() => requireMain("typescript"));
