import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ServerReflection, ServerReflectionService } from 'nice-grpc-server-reflection';
import type { Server } from 'nice-grpc';

/**
 * Descriptor sets written by `npm run generate`: ours with its imports, and
 * the health and reflection protos built from the files their npm packages
 * ship, so grpcurl can describe and call those services too.
 */
const DESCRIPTOR_SETS = ['machinehub.binpb', 'health.binpb', 'reflection.binpb'].map((name) =>
  fileURLToPath(new URL(`../../gen/${name}`, import.meta.url)),
);

/**
 * Adds server reflection, v1 and v1alpha, for `serviceNames`. grpcurl and
 * older clients still ask v1alpha; its messages are the same as v1's, so one
 * implementation serves both paths.
 */
export function addReflection(server: Server, serviceNames: string[]): void {
  // A FileDescriptorSet is one repeated field, so concatenated sets encode their union.
  const protoset = Buffer.concat(DESCRIPTOR_SETS.map((path) => readFileSync(path)));
  const names = [...serviceNames, 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
  const implementation = ServerReflection(protoset, names);
  server.add(ServerReflectionService, implementation);
  const info = ServerReflectionService.serverReflectionInfo;
  server.add(
    { serverReflectionInfo: { ...info, path: '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo' } },
    implementation,
  );
}
