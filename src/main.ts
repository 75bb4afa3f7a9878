import { loadEnvFile } from './load-env-file.js';
import { main } from './server.js';

// `npm start` (and the image) run this file: settings written in ./.env apply, and a variable already set in the
// process environment wins over the file (an orchestrator's or a shell's setting is never overridden). Loaded here
// rather than by `node --env-file-if-exists`, which Node 20.19 may lack.
const envFile = loadEnvFile();

main({ envFile }).catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
