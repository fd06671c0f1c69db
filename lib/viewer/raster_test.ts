import { deepEqual as assertEquals, equal as assertEqual } from "node:assert/strict";
import { hslPixel, namePixel } from "./colors.ts";
import { hexPixel, packRgb, PlotRaster } from "./raster.ts";

const rows = (raster: PlotRaster) =>
  Array.from(
    { length: raster.height },
    (_, y) => [...raster.pixels.subarray(y * raster.width, (y + 1) * raster.width)],
  );

Deno.test("pixels pack as little-endian RGBA bytes", () => {
  const raster = new PlotRaster();
  raster.reset(1, 1, packRgb(0x12, 0x34, 0x56));
  assertEquals([...raster.bytes], [0x12, 0x34, 0x56, 0xff]);
  assertEqual(hexPixel("#123456"), packRgb(0x12, 0x34, 0x56));
});

Deno.test("spans clip to the buffer, columns cover every row, copyDown repeats a scanline", () => {
  const raster = new PlotRaster();
  raster.reset(5, 4, 0);
  raster.column(1, 7);
  raster.span(1, -3, 3, 9);
  raster.span(1, 4, 99, 8);
  raster.span(9, 0, 5, 6);
  raster.copyDown(1, 3);
  assertEquals(rows(raster), [
    [0, 7, 0, 0, 0],
    [9, 9, 9, 0, 8],
    [9, 9, 9, 0, 8],
    [0, 7, 0, 0, 0],
  ]);
  raster.reset(5, 4, 1);
  assertEquals(rows(raster)[3], [1, 1, 1, 1, 1], "reset clears every pixel");
});

Deno.test("HSL colours convert like CSS hsl()", () => {
  assertEqual(hslPixel(0, 1, 0.5), packRgb(255, 0, 0));
  assertEqual(hslPixel(120, 1, 0.25), packRgb(0, 128, 0));
  assertEqual(hslPixel(240, 0.5, 0.75), packRgb(159, 159, 223));
  assertEqual(namePixel("f"), namePixel("f"), "a name keeps its colour");
  assertEqual(namePixel("f", true) >>> 24, 0xff, "opaque");
});
