/**
 * Keyboard, wheel and mouse input on the timeline canvas, turned into viewer actions. Key bindings
 * are a pure table (unit-tested); the listeners only translate DOM events.
 * @module
 */
import { MINIMAP_HEIGHT, TRACKS_TOP } from "./sizes.ts";

/** What a held key does continuously. */
export type Motion = "zoomIn" | "zoomOut" | "panLeft" | "panRight" | "scrollUp" | "scrollDown";
/** What a pressed key does once. */
export type Command =
  | "reset"
  | "zoomToSelection"
  | "clear"
  | "focusSearch"
  | "nextMatch"
  | "prevMatch"
  | "nextProcess"
  | "prevProcess"
  | "toggleProcess"
  | "toggleDepth"
  | "expandAll"
  | "collapseAll";

/** The continuous motion bound to a key (WASD and arrows), if any. */
export function motionForKey(key: string): Motion | undefined {
  switch (key.toLowerCase()) {
    case "w":
    case "arrowup":
      return "zoomIn";
    case "s":
    case "arrowdown":
      return "zoomOut";
    case "a":
    case "arrowleft":
      return "panLeft";
    case "d":
    case "arrowright":
      return "panRight";
    case "pageup":
      return "scrollUp";
    case "pagedown":
      return "scrollDown";
  }
  return undefined;
}

/** The one-shot command bound to a key, if any. */
export function commandForKey(key: string, shift: boolean): Command | undefined {
  switch (key) {
    case "0":
    case "Home":
      return "reset";
    case "f":
    case "z":
      return "zoomToSelection";
    case "Escape":
      return "clear";
    case "/":
      return "focusSearch";
    case "n":
      return shift ? "prevMatch" : "nextMatch";
    case "N":
      return "prevMatch";
    case "j":
    case "]":
      return "nextProcess";
    case "k":
    case "[":
      return "prevProcess";
    case "e":
      return "toggleProcess";
    case "x":
      return "toggleDepth";
    case "E":
      return "expandAll";
    case "C":
      return "collapseAll";
  }
  return undefined;
}

/** What the viewer does for input. */
export interface InputHandlers {
  motion(held: ReadonlySet<Motion>): void;
  command(command: Command): void;
  zoomAt(x: number, factor: number): void;
  pan(dx: number): void;
  scroll(dy: number): void;
  /** Drag on the minimap: centre the window at canvas x. */
  centerAt(x: number): void;
  /** A range drag (shift+drag or on the axis) from canvas x0 to x1; `done` on release. */
  range(x0: number, x1: number, done: boolean): void;
  click(x: number, y: number): void;
  hover(x: number, y: number): void;
  leave(): void;
}

/** Wires DOM events of `canvas` (and keys of `window`) to `handlers`. */
export function attachInput(canvas: HTMLCanvasElement, handlers: InputHandlers): void {
  attachKeys(handlers);
  attachWheel(canvas, handlers);
  attachMouse(canvas, handlers);
}

/** Held keys move the view until released (or the window loses focus); others are commands. */
function attachKeys(handlers: InputHandlers): void {
  const held = new Set<Motion>();
  const typing = (event: KeyboardEvent) => {
    const target = event.target as HTMLElement | null;
    return target !== null && (target.tagName === "INPUT" || target.tagName === "SELECT");
  };
  globalThis.addEventListener("keydown", (event) => {
    if (typing(event) || event.ctrlKey || event.metaKey || event.altKey) return;
    const motion = motionForKey(event.key);
    if (motion) {
      event.preventDefault();
      held.add(motion);
      handlers.motion(held);
      return;
    }
    const command = commandForKey(event.key, event.shiftKey);
    if (command) {
      event.preventDefault();
      handlers.command(command);
    }
  });
  globalThis.addEventListener("keyup", (event) => {
    const motion = motionForKey(event.key);
    if (motion && held.delete(motion)) handlers.motion(held);
  });
  globalThis.addEventListener("blur", () => {
    held.clear();
    handlers.motion(held);
  });
}

/** Ctrl/Cmd+wheel zooms at the pointer, Shift+wheel pans, the wheel scrolls (and pans sideways). */
function attachWheel(canvas: HTMLCanvasElement, handlers: InputHandlers): void {
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const x = event.offsetX;
    const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? canvas.clientHeight : 1;
    const dy = event.deltaY * unit;
    const dx = event.deltaX * unit;
    if (event.ctrlKey || event.metaKey) handlers.zoomAt(x, Math.exp(dy * 0.002));
    else if (event.shiftKey) handlers.pan(dy || dx);
    else {
      if (dy) handlers.scroll(dy);
      if (dx) handlers.pan(dx);
    }
  }, { passive: false });
}

/**
 * A press and release without moving is a click; a drag pans, selects a range (Shift, or on the
 * axis) or moves the view on the minimap; moving without a button hovers.
 */
function attachMouse(canvas: HTMLCanvasElement, handlers: InputHandlers): void {
  let drag: { x: number; y: number; mode: "pan" | "range" | "minimap"; moved: boolean } | null =
    null;
  const canvasPoint = (event: MouseEvent) => {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  };
  canvas.addEventListener("mousedown", (event) => {
    if (event.button !== 0) return;
    const x = event.offsetX;
    const y = event.offsetY;
    const mode = y < MINIMAP_HEIGHT
      ? "minimap"
      : event.shiftKey || y < TRACKS_TOP
      ? "range"
      : "pan";
    drag = { x, y, mode, moved: false };
    if (mode === "minimap") handlers.centerAt(x);
    event.preventDefault();
  });
  globalThis.addEventListener("mousemove", (event) => {
    const { x, y } = canvasPoint(event);
    if (!drag) {
      if (event.target === canvas) handlers.hover(x, y);
      return;
    }
    if (!drag.moved && Math.abs(x - drag.x) + Math.abs(y - drag.y) < 4) return;
    if (!drag.moved) handlers.leave();
    drag.moved = true;
    if (drag.mode === "minimap") handlers.centerAt(x);
    else if (drag.mode === "range") handlers.range(drag.x, x, false);
    else {
      handlers.pan(drag.x - x);
      handlers.scroll(drag.y - y);
      drag.x = x;
      drag.y = y;
    }
  });
  globalThis.addEventListener("mouseup", (event) => {
    if (!drag) return;
    const { x, y } = canvasPoint(event);
    if (drag.moved && drag.mode === "range") handlers.range(drag.x, x, true);
    if (!drag.moved && drag.mode !== "minimap") handlers.click(x, y);
    drag = null;
  });
  canvas.addEventListener("mouseleave", () => handlers.leave());
}
