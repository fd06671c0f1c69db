/**
 * The traced program's environment: the user's own, plus the shim dir first on PYTHONPATH and the
 * run's config in TRACER_CONFIG. Every Python descendant inherits both.
 * @module
 */
import { delimiter } from "node:path";
import { CONFIG_ENV, ROOT_ENV, type ShimConfig } from "./shim_config.ts";

/** Returns a copy of `base` that makes Python load the shim with `config`, as the root process. */
export function tracedEnv(
  base: Record<string, string>,
  config: ShimConfig,
): Record<string, string> {
  const existing = (base.PYTHONPATH ?? "").split(delimiter).filter((entry) =>
    entry !== "" && entry !== config.shim_dir
  );
  const unique = [...new Set(existing)];
  return {
    ...base,
    PYTHONPATH: [config.shim_dir, ...unique].join(delimiter),
    [CONFIG_ENV]: JSON.stringify(config),
    [ROOT_ENV]: "1",
  };
}
