import { deepEqual as assertEquals } from "node:assert/strict";
import { commandForKey, motionForKey } from "./input.ts";

Deno.test("WASD and arrows map to zoom and pan motions", () => {
  assertEquals(
    ["w", "W", "ArrowUp", "s", "ArrowDown", "a", "ArrowLeft", "d", "ArrowRight"].map(
      motionForKey,
    ),
    [
      "zoomIn",
      "zoomIn",
      "zoomIn",
      "zoomOut",
      "zoomOut",
      "panLeft",
      "panLeft",
      "panRight",
      "panRight",
    ],
  );
  assertEquals(motionForKey("x"), undefined);
});

Deno.test("one-shot keys: reset, zoom to selection, clear, search and match stepping", () => {
  assertEquals(commandForKey("0", false), "reset");
  assertEquals(commandForKey("f", false), "zoomToSelection");
  assertEquals(commandForKey("Escape", false), "clear");
  assertEquals(commandForKey("/", false), "focusSearch");
  assertEquals(commandForKey("n", false), "nextMatch");
  assertEquals(commandForKey("N", true), "prevMatch");
  assertEquals(commandForKey("q", false), undefined);
});
