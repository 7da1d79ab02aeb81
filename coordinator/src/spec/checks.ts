// Small field checks shared by the spec validators; each throws InvalidSpecError naming the field.
import { closestName } from '@syncline/proto';
import { InvalidSpecError } from '../errors.js';

export function integerIn(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidSpecError(field, `must be an integer from ${min} to ${max}, got ${show(value)}`);
  }
  return value;
}

/** A finite number in [min, max) (or [min, max] when `inclusiveMax`). */
export function numberIn(field: string, value: number, min: number, max: number, inclusiveMax = false): number {
  if (!Number.isFinite(value) || value < min || (inclusiveMax ? value > max : value >= max)) {
    throw new InvalidSpecError(field, `must be a finite number in [${min}, ${max}${inclusiveMax ? ']' : ')'}, got ${show(value)}`);
  }
  return value;
}

export function positiveFinite(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidSpecError(field, `must be a positive finite number, got ${show(value)}`);
  return value;
}

export function oneOf<T extends string>(field: string, what: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidSpecError(field, notOneOf(what, value, allowed));
  return value as T;
}

export function notOneOf(what: string, value: string, allowed: readonly string[]): string {
  const problem = value === '' ? `missing ${what}` : `unknown ${what} ${quote(value)}`;
  const suggestion = value === '' ? undefined : closestName(value, allowed);
  return `${problem}; expected one of: ${allowed.join(', ')}${suggestion ? ` (did you mean ${suggestion}?)` : ''}`;
}

/** Strings are quoted so an empty or blank value is visible; numbers print as-is so NaN and Infinity stay legible. */
export function show(value: unknown): string {
  return typeof value === 'string' ? quote(value) : String(value);
}

export function quote(value: string): string {
  return JSON.stringify(value);
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
