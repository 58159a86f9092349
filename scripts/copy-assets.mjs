// The build's second step: files under src/ that tsc does not emit (the HTML report's CSS and
// script) go to the same place under dist/, where the compiled modules read them.
import { cpSync } from 'node:fs';

cpSync('src', 'dist', { recursive: true, filter: (source) => !source.endsWith('.ts') });
