import type { Demand } from './Demand.ts';
import { ShapeIndex } from './ShapeIndex.ts';

/** Shape indexes kept after their last queued task leaves, so recurring shapes skip rescoring the fleet. */
const IDLE_SHAPES_KEPT = 256;

/**
 * The `ShapeIndex` of every shape with queued tasks, plus up to
 * `IDLE_SHAPES_KEPT` recently idle ones. Dropping the oldest idle shapes
 * bounds memory on servers that see many distinct demands.
 */
export class ShapeRegistry {
  private readonly shapes = new Map<string, ShapeIndex>();
  /** Shapes with no queued task, oldest first. */
  private readonly idle = new Map<string, ShapeIndex>();

  /** Returns the index for a demand's shape and counts one more queued task on it. */
  acquire(demand: Demand): ShapeIndex {
    let shape = this.shapes.get(demand.shapeKey);
    if (shape === undefined) {
      shape = new ShapeIndex(demand);
      this.shapes.set(demand.shapeKey, shape);
    }
    if (shape.queuedCount === 0) this.idle.delete(demand.shapeKey);
    shape.queuedCount++;
    return shape;
  }

  /** Counts one queued task less on a shape; an idle shape may be dropped later. */
  release(shape: ShapeIndex): void {
    shape.queuedCount--;
    if (shape.queuedCount > 0) return;
    this.idle.set(shape.demand.shapeKey, shape);
    if (this.idle.size > IDLE_SHAPES_KEPT) {
      const oldest = this.idle.keys().next().value;
      if (oldest !== undefined) {
        this.idle.delete(oldest);
        this.shapes.delete(oldest);
      }
    }
  }
}
