/**
 * Running tools from the set-up scripts: whether a command succeeds, and Debian packages.
 * @module
 */

/** True when `program args` runs and exits 0 (its output discarded); false if it cannot run. */
export async function succeeds(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<boolean> {
  try {
    const result = await new Deno.Command(program, { args, env, stdout: "null", stderr: "null" })
      .output();
    return result.success;
  } catch {
    return false;
  }
}

/** Installs Debian packages with apt-get, updating its lists when the first try fails. */
export async function aptInstall(packages: string[]): Promise<boolean> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = () => succeeds("apt-get", ["install", "-y", "-qq", ...packages], env);
  return await install() || (await succeeds("apt-get", ["update", "-qq"], env) && await install());
}
