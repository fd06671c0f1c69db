/**
 * The traced program's environment: the user's own, plus the shim dir first on PYTHONPATH and the
 * path of the run's config file in TRACER_CONFIG (not the config itself: with long
 * `--include_files` values it would not fit in the environment, E2BIG). Every Python descendant
 * inherits both.
 * @module
 */
import { delimiter } from "node:path";
import { CONFIG_ENV, ROOT_ENV, type ShimConfig } from "./shim_config.ts";

/**
 * Returns a copy of `base` that makes Python load the shim with the config written at
 * `configPath` (lib/run/shim_config.ts `writeConfig`), as the root process.
 */
export function tracedEnv(
  base: Record<string, string>,
  config: ShimConfig,
  configPath: string,
): Record<string, string> {
  const existing = (base.PYTHONPATH ?? "").split(delimiter).filter((entry) =>
    entry !== "" && entry !== config.shim_dir
  );
  const unique = [...new Set(existing)];
  return {
    ...base,
    PYTHONPATH: [config.shim_dir, ...unique].join(delimiter),
    [CONFIG_ENV]: configPath,
    [ROOT_ENV]: "1",
  };
}
