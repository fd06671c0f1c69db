/**
 * The flame graph of a set of tracks: identical call stacks merged (by function name, from the
 * root), each node's time the sum of its calls' time inside a range, children heaviest first
 * ("left heavy"). Pure: no DOM.
 * @module
 */
import type { Model, Track } from "./model.ts";

/** One merged stack: a function called through one path. Times in ticks. */
export interface FlameNode {
  /** String id of the function (-1 for the root). */
  name: number;
  /** Time in calls of this stack inside the range. */
  total: number;
  /** `total` minus the children's. */
  self: number;
  /** Calls merged into this node. */
  calls: number;
  /** Heaviest first. */
  children: FlameNode[];
}

interface Building {
  name: number;
  total: number;
  calls: number;
  children: Map<number, Building>;
}

/** The merged stacks of the tracks `filter` accepts, clipped to [t0, t1]; the root has name -1. */
export function flameGraph(
  model: Model,
  range: { t0: number; t1: number },
  filter: (track: Track) => boolean = () => true,
): FlameNode {
  const root: Building = { name: -1, total: 0, calls: 0, children: new Map() };
  const { t0, t1 } = range;
  for (const track of model.tracks) {
    if (!filter(track)) continue;
    const { start, dur, name, parent } = track;
    const n = start.length;
    // Slices are in start order, a parent before its children: its node exists when they come.
    const nodeOf: Building[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const s = start[k];
      if (s >= t1) break;
      const clipped = Math.min(s + dur[k], t1) - Math.max(s, t0);
      if (clipped < 0 || (clipped === 0 && dur[k] > 0)) continue;
      const p = parent[k];
      const above = p >= 0 ? nodeOf[p] ?? root : root;
      let node = above.children.get(name[k]);
      if (!node) {
        node = { name: name[k], total: 0, calls: 0, children: new Map() };
        above.children.set(name[k], node);
      }
      node.total += clipped;
      node.calls++;
      if (above === root) root.total += clipped;
      nodeOf[k] = node;
    }
  }
  return finish(root);
}

function finish(node: Building): FlameNode {
  const children = [...node.children.values()].map(finish).sort((a, b) => b.total - a.total);
  const inChildren = children.reduce((sum, child) => sum + child.total, 0);
  return {
    name: node.name,
    total: node.total,
    self: Math.max(0, node.total - inChildren),
    calls: node.calls,
    children,
  };
}

/** The deepest level of a flame graph (the root's children are level 0). */
export function flameDepth(node: FlameNode): number {
  let depth = 0;
  for (const child of node.children) depth = Math.max(depth, 1 + flameDepth(child));
  return depth;
}
