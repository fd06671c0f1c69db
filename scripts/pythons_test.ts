import { equal } from "node:assert/strict";
import { mirrorIn } from "./pythons.ts";

Deno.test("mirrorIn: the main archive of a deb822 sources file, not its security archive", () => {
  const text = [
    "Types: deb",
    "URIs: http://deb.debian.org/debian-security",
    "Suites: bookworm-security",
    "",
    "Types: deb",
    "# http://snapshot.debian.org/archive/debian/20250520T000000Z",
    "URIs: http://mirror.example/debian/",
    "Suites: bookworm bookworm-updates",
  ].join("\n");
  equal(mirrorIn(text), "http://mirror.example/debian");
});

Deno.test("mirrorIn: one-line sources, options included; none names a Debian archive", () => {
  equal(
    mirrorIn("deb [arch=amd64 signed-by=/k.gpg] https://deb.example.org/debian bookworm main\n"),
    "https://deb.example.org/debian",
  );
  equal(mirrorIn("deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"), null);
  equal(mirrorIn("URIs: https://deb.nodesource.com/node_20.x\n"), null);
});
