/**
 * The machinehub server: machine hub, scheduler and the gRPC services.
 * `scheduler/` is pure and imports nothing from here. `control/` contains
 * the task and agent state machines, `grpc/` adapts them to the wire, and
 * `store/` keeps state durable.
 */
export { startServer, type RunningServer } from './startServer.js';
export * from './options.js';
