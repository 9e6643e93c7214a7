/**
 * The node's API definitions (`aurigraph/v1/*.proto`), loaded at run time from the package's own copy of the
 * repository's `protos` folder (put there by `npm pack`) or, inside the repository, from the folder itself.
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const apiFiles = ['aurigraph/v1/transactions.proto', 'aurigraph/v1/blocks.proto', 'aurigraph/v1/node.proto'];

/** The folder holding `aurigraph/v1/*.proto`: the package's copy first, then the repository's (two levels up). */
export function protoRoot(): string {
  for (const candidate of [path.join(packageRoot, 'protos'), path.resolve(packageRoot, '..', '..', 'protos')]) {
    if (existsSync(path.join(candidate, 'aurigraph', 'v1', 'transactions.proto'))) {
      return candidate;
    }
  }
  throw new Error(`the Aurigraph protos are neither in ${path.join(packageRoot, 'protos')} nor in the repository's protos folder`);
}

/** The two import roots: the API itself and `third_party` (google/api annotations). */
function includeDirs(): string[] {
  const root = protoRoot();
  return [root, path.join(root, 'third_party')];
}

let services: grpc.GrpcObject | undefined;

/** The `aurigraph.v1` gRPC services, with 64-bit integers as decimal strings, enums as names and bytes as Buffers. */
export function grpcPackage(): grpc.GrpcObject {
  services ??= grpc.loadPackageDefinition(
    protoLoader.loadSync(apiFiles, {
      includeDirs: includeDirs(),
      keepCase: false,
      longs: String,
      enums: String,
      bytes: Buffer,
      defaults: true,
      oneofs: true,
    }),
  );
  return services;
}

let bodyType: protobuf.Type | undefined;

/** The protobuf type `aurigraph.v1.TransactionBody`, for encoding what a sender signs. */
export function transactionBodyType(): protobuf.Type {
  if (bodyType === undefined) {
    // google/api/annotations.proto imports google/protobuf/descriptor.proto, which protobufjs ships as JSON.
    protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);
    const dirs = includeDirs();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => dirs.map((d) => path.join(d, target)).find((p) => existsSync(p)) ?? target;
    root.loadSync(apiFiles[0]!, { keepCase: true });
    bodyType = root.lookupType('aurigraph.v1.TransactionBody');
  }
  return bodyType;
}
