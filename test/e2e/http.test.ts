// HTTP edge details through the real process: what an unauthenticated
// client can learn (404s, /readyz), content negotiation and SIGHUP.

import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FAKE_TOOLS, FIXTURES, startExporter, waitFor } from '../helpers/exporter.ts';

const CAPTURE = path.join(FIXTURES, 'nvidia/capture_h100-80gb-hbm3_590.48.01_linux.txt');
const DRIVER_ERROR = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver";

describe('HTTP edge', () => {
  it('a 404 does not echo the path; /readyz names failed backends but neither tool paths nor error text', async () => {
    const tool = path.join(FAKE_TOOLS, 'nvidia-smi');
    const e = await startExporter([`--nvidia-smi.path=${tool}`, '--collect.interval=200ms'], { FAKE_NVIDIA_SMI_CAPTURE: CAPTURE, FAKE_NVIDIA_SMI_MODE: 'fail-driver' });
    try {
      const probe = '/<script>alert(1)</script>';
      const r = await fetch(e.url + probe);
      assert.equal(r.status, 404);
      assert.equal(await r.text(), 'not found\n');
      const ready = await waitFor('a failed first sample', async () => {
        const g = await e.get('/readyz');
        return g.status === 503 && g.body.includes('good sample') && g.body;
      });
      assert.equal(ready, 'not ready: no backend has a good sample (failed: nvidia-smi)\n');
      assert.ok(!ready.includes(FAKE_TOOLS) && !ready.includes(DRIVER_ERROR));
      // The details are in the log.
      assert.ok(JSON.stringify(e.logs).includes('NVIDIA driver'));
    } finally {
      await e.stop();
    }
  });

  it('Accept: application/openmetrics-text;q=0 gets the text format', async () => {
    const e = await startExporter([]);
    try {
      assert.equal((await e.scrape('application/openmetrics-text;q=0')).contentType, 'text/plain; version=0.0.4; charset=utf-8');
      assert.equal((await e.scrape('application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.3')).contentType, 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    } finally {
      await e.stop();
    }
  });

  it('SIGHUP without a web config is logged and ignored; SIGTERM then takes the shutdown path', async () => {
    const e = await startExporter([]);
    e.proc.kill('SIGHUP');
    await waitFor('the SIGHUP log line', async () => e.logs.some((l) => l.msg === 'SIGHUP ignored: no --web.config.file to reload'));
    assert.equal((await e.get('/healthz')).status, 200);
    assert.equal(await e.stop(), 0);
    assert.ok(e.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
  });
});
