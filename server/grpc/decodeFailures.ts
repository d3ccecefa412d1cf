import { invalidArgument } from '../errors.js';

/**
 * Marks a request whose bytes could not be decoded. The generated decoders
 * throw inside grpc-js for an int64 beyond Number.MAX_SAFE_INTEGER, and
 * grpc-js then responds INTERNAL "Error deserializing request". Returning
 * this marker instead lets the handlers respond INVALID_ARGUMENT with the
 * reason.
 */
export interface DecodeFailure {
  readonly decodeFailure: string;
}

export function isDecodeFailure(value: unknown): value is DecodeFailure {
  return typeof value === 'object' && value !== null && 'decodeFailure' in value;
}

/** Builds the INVALID_ARGUMENT error for a request that could not be decoded. */
export function decodeError(failure: DecodeFailure) {
  return invalidArgument(
    `request could not be decoded: ${failure.decodeFailure}; int64 fields take integers from 0 to ${Number.MAX_SAFE_INTEGER}`,
  );
}

interface MessageType {
  decode(input: Uint8Array, length?: number): unknown;
}

/** Returns a copy of a service definition whose request decoders yield a DecodeFailure instead of throwing. */
export function withDecodeFailures<Definition extends { methods: Record<string, { requestType: MessageType }> }>(
  definition: Definition,
): Definition {
  const methods: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition.methods)) {
    const type = method.requestType;
    const decode = (input: Uint8Array, length?: number): unknown => {
      try {
        return type.decode(input, length);
      } catch (error) {
        return { decodeFailure: (error as Error).message } satisfies DecodeFailure;
      }
    };
    methods[name] = { ...method, requestType: { ...type, decode } };
  }
  return { ...definition, methods } as Definition;
}
