// Plain-JS entry of the abuse bench's client threads: registers tsx in this thread, then loads worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
