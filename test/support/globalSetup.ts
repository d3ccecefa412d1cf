/**
 * Runs once before the test files. Makes sure the tools the tests drive are
 * present: grpcurl, built from its Go module into .tools/bin when it is not
 * on PATH, so `npm test` works on a fresh clone of a machine with Go.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const GRPCURL_MODULE = 'github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4';
const TOOLS_BIN = fileURLToPath(new URL('../../.tools/bin', import.meta.url));

function onPath(command: string): boolean {
  try {
    execFileSync(command, ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  process.env.PATH = `${TOOLS_BIN}:${process.env.PATH ?? ''}`;
  if (onPath('grpcurl')) return;
  mkdirSync(TOOLS_BIN, { recursive: true });
  process.stderr.write(`grpcurl not found; building ${GRPCURL_MODULE} into ${TOOLS_BIN}\n`);
  execFileSync('go', ['install', GRPCURL_MODULE], { stdio: 'inherit', env: { ...process.env, GOBIN: TOOLS_BIN } });
  if (!existsSync(`${TOOLS_BIN}/grpcurl`)) throw new Error(`go install did not produce ${TOOLS_BIN}/grpcurl`);
}
