/**
 * The termination signals tracer itself receives (SIGINT, SIGTERM, SIGHUP), held for the whole of
 * a run so none of them kills tracer between steps: what a signal does depends on the step (go on
 * to the program, stop waiting, stop writing), set with {@linkcode SignalGate.on}.
 * @module
 */
import { constants } from "node:os";

/** The signals tracer turns into a clean stop instead of dying. */
export const TERMINATION_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT"]
  : ["SIGINT", "SIGTERM", "SIGHUP"];

/** Listens for the termination signals until disposed; the current handler decides. */
export class SignalGate implements Disposable {
  #handler: (signal: Deno.Signal) => void = () => {};
  #first: Deno.Signal | null = null;
  #listeners = new Map<Deno.Signal, () => void>();

  constructor() {
    for (const signal of TERMINATION_SIGNALS) {
      const listener = () => {
        this.#first ??= signal;
        this.#handler(signal);
      };
      this.#listeners.set(signal, listener);
      Deno.addSignalListener(signal, listener);
    }
  }

  /** The first signal received, or null. */
  get first(): Deno.Signal | null {
    return this.#first;
  }

  /** Makes `handler` receive every later signal (replacing the previous one). */
  on(handler: (signal: Deno.Signal) => void): void {
    this.#handler = handler;
  }

  /** Stops listening: from now on the signals have their default effect again. */
  [Symbol.dispose](): void {
    for (const [signal, listener] of this.#listeners) Deno.removeSignalListener(signal, listener);
    this.#listeners.clear();
  }
}

/**
 * Whether a SIGINT tracer got has, in all likelihood, reached `childPid` already: tracer is in
 * the foreground process group of its terminal (a Ctrl-C there goes to the whole group) and the
 * child is still in that group. Then forwarding it would interrupt the program twice. Linux reads
 * /proc; elsewhere a terminal on stdin is taken to mean the same.
 */
export function interruptReachedChild(childPid: number): boolean {
  if (Deno.build.os !== "linux") return Deno.stdin.isTerminal();
  const self = procStat("self");
  const child = procStat(String(childPid));
  if (self === null || child === null) return false;
  return self.ttyNr !== 0 && self.tpgid === self.pgrp && child.pgrp === self.pgrp;
}

function procStat(pid: string): { pgrp: number; ttyNr: number; tpgid: number } | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // After "pid (comm) ": state ppid pgrp session tty_nr tpgid ... (comm may hold spaces).
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pgrp: Number(fields[2]), ttyNr: Number(fields[4]), tpgid: Number(fields[5]) };
  } catch {
    return null;
  }
}

/** The number of a signal (SIGTERM: 15), 0 if unknown. */
export function signalNumber(signal: Deno.Signal): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}
