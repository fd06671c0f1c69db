/**
 * `deno task pythons`: provisions CPython 3.14 and 3.15 where the host has no build of its own.
 *
 * Debian's stable suite has neither; its `sid` suite, in the archive apt already uses, has both,
 * built against a glibc newer than the host's. So they live in a `debootstrap --variant=minbase`
 * root of that suite, cached outside the checkout (`$XDG_CACHE_HOME/tracer/sid-root`, built once,
 * about 1.1 GB with its venvs), and are entered through launchers written into `build/pythons/` of this checkout:
 *
 * - `enter PROGRAM ARGS...` runs an absolute path of the root in a private mount namespace, chrooted,
 *   with `/proc`, `/sys` (the native core reads the clock source there), `/dev`, `/tmp`, `$HOME`,
 *   `$TMPDIR`, this checkout's top folder and the working directory's top folder bound at the same
 *   paths, in the same working directory. No pid namespace:
 *   pids are the host's, so tracer sees the processes it started;
 * - `python3.14`, `python3.15`: the interpreters, by absolute path (given a bare name, CPython
 *   would compute `sys.executable` from PATH and get it wrong);
 * - `cc`: the root's gcc, which compiles the native core against the root's headers;
 * - `venv-3.14/bin/{python,coverage,viztracer}` (and 3.15): a venv per version inside the root,
 *   with coverage (tests) and VizTracer (benchmarks) where they install.
 *
 * Idempotent: a complete root is reused, launchers are rewritten. The last line printed is the
 * folder of the launchers; the exit status is 1 (with the reason) where it cannot be done: not
 * Linux, not root, no debootstrap to be had.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { aptInstall, succeeds } from "./_run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The CPython versions this script provisions. */
export const NEWER_PYTHONS = ["3.14", "3.15"] as const;

/** The folder of the launchers, in this checkout (gitignored). */
export const PYTHONS_DIR: string = join(ROOT, "build", "pythons");

/** Where the sid root is cached (outside any checkout: every clone on this machine shares it). */
export function rootDir(): string {
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/root", ".cache");
  return join(cache, "tracer", "sid-root");
}

/** The launchers of the provisioned interpreters that exist, keyed "3.14", "3.15". */
export function newerPythons(): Map<string, string> {
  const found = new Map<string, string>();
  for (const version of NEWER_PYTHONS) {
    const path = join(PYTHONS_DIR, `python${version}`);
    if (isFile(path)) found.set(version, path);
  }
  return found;
}

/** A program of the venv the root holds for `version` ("coverage", "viztracer"), or null. */
export function newerVenvProgram(version: string, program: string): string | null {
  const path = join(PYTHONS_DIR, `venv-${version}`, "bin", program);
  return isFile(path) ? path : null;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Provisioning cannot be done on this machine; the message says why. */
export class ProvisionError extends Error {}

/** The root's packages: each version with its headers, venv and test suite (`python -m test`). */
const PACKAGES = NEWER_PYTHONS.flatMap((v) => [
  `python${v}`,
  `python${v}-dev`,
  `python${v}-venv`,
  `libpython${v}-testsuite`,
]).concat(["gcc", "make"]);
/** Written last into a finished root: its presence says the root is whole. */
const COMPLETE_MARK = ".tracer-root-complete";
/** What each root venv gets; a package that does not install is said, not fatal. */
const VENV_PACKAGES = ["coverage", "viztracer"];

/** Builds (or reuses) the root, writes the launchers and the venvs; returns the launchers' folder. */
export async function provisionPythons(
  log = (line: string) => console.error(line),
): Promise<string> {
  if (Deno.build.os !== "linux") throw new ProvisionError("needs Linux (a Debian root, chroot)");
  if (Deno.uid() !== 0) throw new ProvisionError("needs root (debootstrap, chroot, mount)");
  const root = rootDir();
  const mark = await Deno.readTextFile(join(root, COMPLETE_MARK)).catch(() => null);
  if (mark === null) await buildRoot(root, log);
  await writeLaunchers(root);
  await trustHostCertificates(root);
  if (mark !== null && mark !== PACKAGES.join("\n") + "\n") await addPackages(root, log);
  for (const version of NEWER_PYTHONS) await ensureVenv(root, version, log);
  return PYTHONS_DIR;
}

async function buildRoot(root: string, log: (line: string) => void): Promise<void> {
  await ensureDebootstrap(log);
  const mirror = await aptMirror();
  const partial = `${root}.partial`;
  await Deno.remove(partial, { recursive: true }).catch(() => {});
  await Deno.remove(root, { recursive: true }).catch(() => {});
  await Deno.mkdir(dirname(root), { recursive: true });
  log(`pythons: building a Debian sid root in ${root} from ${mirror} (about 2 minutes, once)`);
  const args = ["--variant=minbase", `--include=${PACKAGES.join(",")}`, "sid", partial, mirror];
  const result = await new Deno.Command("debootstrap", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!result.success) {
    const tail = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3).join(" | ");
    await Deno.remove(partial, { recursive: true }).catch(() => {});
    throw new ProvisionError(`debootstrap failed: ${tail}`);
  }
  await Deno.writeTextFile(join(partial, COMPLETE_MARK), PACKAGES.join("\n") + "\n");
  await Deno.rename(partial, root);
}

/** A root made for another package list gets what it lacks with its own apt-get. */
async function addPackages(root: string, log: (line: string) => void): Promise<void> {
  log("pythons: installing the packages the root lacks");
  const enter = join(PYTHONS_DIR, "enter");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const installed = await succeeds(enter, [
    "/usr/bin/apt-get",
    "-o",
    "Acquire::Check-Valid-Until=false",
    "update",
    "-qq",
  ], env) &&
    await succeeds(enter, ["/usr/bin/apt-get", "install", "-y", "-qq", ...PACKAGES], env);
  if (!installed) throw new ProvisionError(`apt-get in ${root} could not install ${PACKAGES}`);
  await Deno.writeTextFile(join(root, COMPLETE_MARK), PACKAGES.join("\n") + "\n");
}

async function ensureDebootstrap(log: (line: string) => void): Promise<void> {
  if (await succeeds("debootstrap", ["--version"])) return;
  log("pythons: installing debootstrap");
  if (!await aptInstall(["debootstrap"])) {
    throw new ProvisionError("debootstrap is not installed and apt-get could not install it");
  }
}

/** The Debian archive apt already uses: the first `URIs:` (deb822) or `deb` line naming one. */
export async function aptMirror(): Promise<string> {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const entry of Deno.readDirSync("/etc/apt/sources.list.d")) {
      files.push(join("/etc/apt/sources.list.d", entry.name));
    }
  } catch { /* no such folder */ }
  for (const file of files.sort()) {
    const text = await Deno.readTextFile(file).catch(() => "");
    const mirror = mirrorIn(text);
    if (mirror !== null) return mirror;
  }
  return "http://deb.debian.org/debian";
}

/** The Debian main archive a sources file names (not its security archive), or null. */
export function mirrorIn(text: string): string | null {
  for (const line of text.split("\n")) {
    const match = /^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/.exec(line);
    if (match === null) continue;
    const uri = match[1].replace(/\/+$/, "");
    if (/\/debian$/.test(uri)) return uri;
  }
  return null;
}

/** The `enter` launcher: see the module doc. Root and checkout are passed in as arguments. */
const ENTER = `#!/bin/bash
# Generated by scripts/pythons.ts: runs a program of the sid root (an absolute path inside it) with
# the host's /proc, /sys, /dev, /tmp, $HOME, $TMPDIR, the checkout's and the working directory's top
# folders bound at the same paths, in the same working directory. Private mount namespace: the
# binds vanish with the last process; pids stay the host's.
set -e
exec unshare --mount --propagation private -- /bin/bash -c '
root=$1 checkout=$2 cwd=$PWD
shift 2
for top in /proc /sys /dev; do
  mount --rbind "$top" "$root$top"
done
for path in /tmp "$HOME" "\${TMPDIR:-/tmp}" "$checkout" "$cwd"; do
  top="/$(printf %s "\${path#/}" | cut -d/ -f1)"
  case "$top" in  # never over the system folders of the root
    /|/usr|/bin|/sbin|/lib|/lib32|/lib64|/libx32|/etc|/var|/opt|/boot|/run|/sys|/proc|/dev) continue ;;
  esac
  [ -d "$top" ] || continue
  mkdir -p "$root$top"
  mountpoint -q "$root$top" || mount --rbind "$top" "$root$top"
done
exec chroot "$root" /bin/sh -c "cd \\"\\$0\\" 2>/dev/null || cd /; exec \\"\\$@\\"" "$cwd" "$@"
' enter "$ROOT_DIR" "$CHECKOUT" "$@"
`;

async function writeLaunchers(root: string): Promise<void> {
  await Deno.mkdir(PYTHONS_DIR, { recursive: true });
  const enter = join(PYTHONS_DIR, "enter");
  await writeExecutable(
    enter,
    ENTER.replace('"$ROOT_DIR"', shellQuote(root)).replace('"$CHECKOUT"', shellQuote(ROOT)),
  );
  const launch = (program: string) => `#!/bin/sh\nexec ${shellQuote(enter)} ${program} "$@"\n`;
  for (const version of NEWER_PYTHONS) {
    await writeExecutable(
      join(PYTHONS_DIR, `python${version}`),
      launch(`/usr/bin/python${version}`),
    );
  }
  await writeExecutable(join(PYTHONS_DIR, "cc"), launch("/usr/bin/gcc"));
}

/** The venv inside the root (`/opt/tracer/venv-X.Y`) with VENV_PACKAGES, and its launchers. */
async function ensureVenv(root: string, version: string, log: (line: string) => void) {
  const inside = `/opt/tracer/venv-${version}`;
  const enter = join(PYTHONS_DIR, "enter");
  const python = `${inside}/bin/python`;
  if (!await exists(join(root, python))) { // a link to /usr/bin/pythonX.Y of the root
    log(`pythons: creating the ${version} venv ${inside} inside the root`);
    if (!await succeeds(enter, [`/usr/bin/python${version}`, "-m", "venv", inside])) {
      throw new ProvisionError(`cannot create a venv for CPython ${version} in the root`);
    }
  }
  for (const name of VENV_PACKAGES) {
    const module = name === "coverage" ? "coverage" : "viztracer";
    if (await succeeds(enter, [python, "-c", `import ${module}`])) continue;
    log(`pythons: installing ${name} into the ${version} venv`);
    if (!await succeeds(enter, [python, "-m", "pip", "install", "-q", name])) {
      log(`pythons: note: ${name} did not install for CPython ${version}; what needs it skips`);
    }
  }
  const bin = join(PYTHONS_DIR, `venv-${version}`, "bin");
  await Deno.mkdir(bin, { recursive: true });
  for (const program of ["python", ...VENV_PACKAGES]) {
    const target = `${inside}/bin/${program}`;
    const path = join(bin, program);
    if (await exists(join(root, target))) {
      await writeExecutable(path, `#!/bin/sh\nexec ${shellQuote(enter)} ${target} "$@"\n`);
    } else {
      await Deno.remove(path).catch(() => {});
    }
  }
}

/**
 * pip in the root reaches the package index through whatever the host trusts (a proxy's own
 * authority, say): the host's CA bundle replaces the root's, at the path both use.
 */
async function trustHostCertificates(root: string): Promise<void> {
  const bundle = "/etc/ssl/certs/ca-certificates.crt";
  if (isFile(bundle)) await Deno.copyFile(bundle, join(root, bundle));
}

/** True when the path exists; a link counts as itself (its target is a path in the root). */
function exists(path: string): Promise<boolean> {
  return Deno.lstat(path).then(() => true, () => false);
}

async function writeExecutable(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  await Deno.chmod(path, 0o755);
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

if (import.meta.main) {
  try {
    console.log(await provisionPythons());
  } catch (error) {
    if (!(error instanceof ProvisionError)) throw error;
    console.error(`pythons: cannot provision CPython 3.14 and 3.15 here: ${error.message}`);
    Deno.exit(1);
  }
}
