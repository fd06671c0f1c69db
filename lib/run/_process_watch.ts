/**
 * Finding traced processes that are still running after the root program exited, and waiting for
 * them (bounded by a timeout and by Ctrl-C), so their data is complete before combining.
 * @module
 */
import { join } from "node:path";

/** A traced process still running. */
export interface LiveProcess {
  pid: number;
  command: string;
}

/**
 * Lists running processes whose environment contains `marker` (Linux: /proc/<pid>/environ).
 * Elsewhere, lists the per-process files in `dataDir` whose end record is not written yet.
 */
export async function liveTracedProcesses(
  marker: string,
  dataDir: string,
): Promise<LiveProcess[]> {
  return Deno.build.os === "linux" ? scanProc(marker) : await unfinishedFiles(dataDir);
}

// Synchronous reads: a scan of ~100 processes takes ~3 ms instead of ~12 ms with async reads.
function scanProc(marker: string): LiveProcess[] {
  const found: LiveProcess[] = [];
  const needle = new TextEncoder().encode(marker);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    try {
      if (!contains(Deno.readFileSync(`/proc/${pid}/environ`), needle)) continue;
      const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
      found.push({ pid, command: cmdline.split("\0").filter(Boolean).join(" ") });
    } catch {
      // Gone meanwhile, or not ours to read: either way not a traced process we can wait for.
    }
  }
  return found;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  const first = needle[0];
  outer: for (let i = haystack.indexOf(first); i !== -1; i = haystack.indexOf(first, i + 1)) {
    if (i + needle.length > haystack.length) return false;
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

async function unfinishedFiles(dataDir: string): Promise<LiveProcess[]> {
  const found: LiveProcess[] = [];
  for await (const entry of Deno.readDir(dataDir)) {
    const match = /^result_(\d+)(?:_\d+)?\.raw$/.exec(entry.name);
    if (!match) continue;
    const path = join(dataDir, entry.name);
    using file = await Deno.open(path);
    const size = (await file.stat()).size;
    const tail = new Uint8Array(Math.min(size, 512));
    await file.seek(size - tail.length, Deno.SeekMode.Start);
    let read = 0;
    while (read < tail.length) {
      const n = await file.read(tail.subarray(read));
      if (n === null) break;
      read += n;
    }
    // The shim's last record is the end record: JSON holding its end_mono_ns field, then the
    // zeros up to a multiple of 8 (a running process's file ends in the zeros of its segment).
    const text = new TextDecoder().decode(tail).replace(/\0+$/, "");
    if (!(text.endsWith("}") && text.includes('"end_mono_ns":'))) {
      found.push({ pid: Number(match[1]), command: entry.name });
    }
  }
  return found;
}

const QUIET_MS = 500;

/** Options for {@linkcode waitForTracedProcesses}. */
export interface WaitOptions {
  marker: string;
  dataDir: string;
  timeoutS: number;
  /** Called with one status line for stderr when waiting starts and when the set changes. */
  report: (line: string) => void;
  pollMs?: number;
  /** Aborted (by a signal tracer got): stop waiting now. */
  stop?: AbortSignal;
}

/** Waits until no traced process runs, the timeout passes or `stop` aborts; returns those left. */
export async function waitForTracedProcesses(options: WaitOptions): Promise<LiveProcess[]> {
  const start = Date.now();
  const deadline = start + options.timeoutS * 1000;
  const stop = options.stop ?? new AbortController().signal;
  let lastKey = "";
  while (true) {
    const live = await liveTracedProcesses(options.marker, options.dataDir);
    if (live.length === 0 || stop.aborted || Date.now() >= deadline) return live;
    const key = live.map((p) => p.pid).join(",");
    // Processes that end within moments (a resource tracker, a pool's last worker) are not news.
    if (key !== lastKey && Date.now() - start >= QUIET_MS) {
      lastKey = key;
      options.report(
        `waiting for ${live.length} traced process${live.length === 1 ? "" : "es"}: ${
          describe(live)
        } (up to ${options.timeoutS} s, Ctrl-C stops waiting)`,
      );
    }
    await pause(options.pollMs ?? 100, stop);
  }
}

/** Resolves after `ms`, or as soon as `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener("abort", done);
  });
}

/** `4711 python3 worker.py, 4712 ...`, shortened to a readable line. */
export function describe(processes: LiveProcess[]): string {
  const shown = processes.slice(0, 5).map((p) =>
    `${p.pid} ${p.command.length > 60 ? p.command.slice(0, 57) + "..." : p.command}`
  );
  if (processes.length > shown.length) shown.push(`and ${processes.length - shown.length} more`);
  return shown.join(", ");
}
