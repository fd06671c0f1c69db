import assert from "node:assert/strict";
import { tracedEnv } from "./python_env.ts";
import type { ShimConfig } from "./shim_config.ts";

const config: ShimConfig = {
  version: 1,
  run_id: "r1",
  output_dir: "/tmp/out",
  shim_dir: "/tmp/shim",
  ignore_c_function: false,
  max_stack_depth: -1,
  include_files: [],
  exclude_files: [],
  min_duration_us: 0,
  tracer_entries: 10,
  trace_children: true,
};

Deno.test("the shim dir goes first on PYTHONPATH, user entries follow once each", () => {
  const env = tracedEnv({ PYTHONPATH: "/a:/tmp/shim:/b:/a:", HOME: "/h" }, config, "/tmp/c.json");
  assert.equal(env.PYTHONPATH, "/tmp/shim:/a:/b");
  assert.equal(env.HOME, "/h");
  assert.equal(env.TRACER_CONFIG, "/tmp/c.json");
});

Deno.test("without a PYTHONPATH the shim dir is the only entry", () => {
  assert.equal(tracedEnv({}, config, "/tmp/c.json").PYTHONPATH, "/tmp/shim");
});
