// Plain-JS entry of the load generator's worker: registers tsx in this thread, then loads client.ts.
import { register } from 'tsx/esm/api';

register();
await import('./client.ts');
