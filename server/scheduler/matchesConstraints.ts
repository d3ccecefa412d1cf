import type { Constraint } from './types.ts';

/** Tests machine labels against every constraint of a task (all must hold). */
export function matchesConstraints(labels: Readonly<Record<string, string>>, constraints: readonly Constraint[]): boolean {
  for (const constraint of constraints) {
    const hasLabel = Object.hasOwn(labels, constraint.key);
    const value = labels[constraint.key];
    switch (constraint.op) {
      case 'equals':
        if (!hasLabel || value !== constraint.values[0]) return false;
        break;
      case 'in':
        if (!hasLabel || value === undefined || !constraint.values.includes(value)) return false;
        break;
      case 'not_in':
        // A machine without the label is not in the listed values, so it matches.
        if (hasLabel && value !== undefined && constraint.values.includes(value)) return false;
        break;
      case 'exists':
        if (!hasLabel) return false;
        break;
      case 'not_exists':
        if (hasLabel) return false;
        break;
    }
  }
  return true;
}

/** Formats a constraint for queue reasons, e.g. `zone in [a, b]`. */
export function describeConstraint(constraint: Constraint): string {
  switch (constraint.op) {
    case 'equals':
      return `${constraint.key}=${constraint.values[0] ?? ''}`;
    case 'in':
      return `${constraint.key} in [${constraint.values.join(', ')}]`;
    case 'not_in':
      return `${constraint.key} not in [${constraint.values.join(', ')}]`;
    case 'exists':
      return `${constraint.key} exists`;
    case 'not_exists':
      return `${constraint.key} does not exist`;
  }
}
