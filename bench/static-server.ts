// Baseline for the scrape benchmark: fastify serving fixed bytes, nothing else.
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const body = readFileSync(process.argv[2]!, 'utf8');
const app = Fastify({ logger: false });
app.get('/metrics', async (_req, reply) => {
  reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
  return body;
});
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(JSON.stringify({ msg: 'listening', address: addr }) + '\n');
