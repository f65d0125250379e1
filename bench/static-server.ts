// Baseline for the scrape benchmark: node:http serving fixed bytes, nothing else.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const body = readFileSync(process.argv[2]!);
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length }).end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ msg: 'listening', address: server.address() }) + '\n'));
