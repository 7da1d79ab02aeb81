#!/usr/bin/env node
// Runs the TypeScript worker through tsx, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
