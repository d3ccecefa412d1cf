#!/usr/bin/env node
// Runs the TypeScript CLI in cli/main.ts in this process: tsx's loader hook
// compiles it on import, so no build step and no child process is needed.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
