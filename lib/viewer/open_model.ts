/**
 * The model as the page shows it: decoded (model.ts), processes in tree order (tree.ts), flows
 * resolved to arrows between slices (flows.ts).
 * @module
 */
import { resolveArrows } from "./flows.ts";
import { decodeModel, type Model } from "./model.ts";
import { treeOrder } from "./tree.ts";

/** Decodes the uncompressed report bytes into the model the viewer draws. */
export function openModel(bytes: Uint8Array): Model {
  const model = decodeModel(bytes);
  model.processes = treeOrder(model.processes);
  model.arrows = resolveArrows(model);
  return model;
}
