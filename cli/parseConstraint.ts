import { ConstraintOperator, type Constraint } from '../gen/machinehub/task/v1/task.js';
import { UsageError } from './UsageError.js';

const FORMS = "'key=value', 'key!=value', 'key in a,b', 'key notin a,b', 'key exists' or 'key notexists'";

/**
 * Parses one --constraint. "key!=value" is NOT_IN with one value, so it also
 * matches machines without the label, as the proto defines NOT_IN.
 */
export function parseConstraint(text: string): Constraint {
  const words = text.trim().split(/\s+/);
  const [key, operator, values, extra] = words;

  if (words.length === 1 && key !== undefined) {
    const notEquals = /^([^=!\s]+)!=(.+)$/.exec(key);
    if (notEquals !== null) {
      return { key: notEquals[1]!, operator: ConstraintOperator.CONSTRAINT_OPERATOR_NOT_IN, values: [notEquals[2]!] };
    }
    const equals = /^([^=!\s]+)=(.*)$/.exec(key);
    if (equals !== null) {
      return { key: equals[1]!, operator: ConstraintOperator.CONSTRAINT_OPERATOR_EQUALS, values: [equals[2]!] };
    }
  }
  if (key !== undefined && key !== '' && extra === undefined) {
    if (operator === 'exists' && values === undefined) {
      return { key, operator: ConstraintOperator.CONSTRAINT_OPERATOR_EXISTS, values: [] };
    }
    if (operator === 'notexists' && values === undefined) {
      return { key, operator: ConstraintOperator.CONSTRAINT_OPERATOR_NOT_EXISTS, values: [] };
    }
    const list = values?.split(',').filter((value) => value !== '') ?? [];
    if (operator === 'in' && list.length > 0) {
      return { key, operator: ConstraintOperator.CONSTRAINT_OPERATOR_IN, values: list };
    }
    if (operator === 'notin' && list.length > 0) {
      return { key, operator: ConstraintOperator.CONSTRAINT_OPERATOR_NOT_IN, values: list };
    }
  }
  throw new UsageError(`invalid --constraint "${text}": expected ${FORMS}`);
}
