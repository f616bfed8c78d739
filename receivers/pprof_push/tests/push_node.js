// A real Node.js process profiled by @pyroscope/nodejs, pushing to profgate's pprof_push
// receiver. argv: <module dir> <server address> <folder for copies of what was sent>.
// global fetch is wrapped so that each body the SDK sends is also saved, for the test to
// compare with what profgate writes.
const path = require('path');
const fs = require('fs');
const [moduleDir, server, sentDir] = process.argv.slice(2);
const Pyroscope = require(path.join(moduleDir, 'node_modules', '@pyroscope', 'nodejs')).default;

const realFetch = globalThis.fetch;
let n = 0;
const statuses = [];
globalThis.fetch = async (url, init) => {
  const body = Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength);
  fs.writeFileSync(path.join(sentDir, `sent-${n++}.pb.gz`), body);
  fs.writeFileSync(path.join(sentDir, `url-${n - 1}.txt`), String(url));
  const r = await realFetch(url, init);
  statuses.push(r.status);
  return r;
};

Pyroscope.init({
  serverAddress: server,
  appName: 'nodeapp',
  tags: { region: 'eu-west', team: 'profiling' },
  tenantID: 'tenant-node',
  flushIntervalMs: 1500,
  wall: { samplingDurationMs: 1500, samplingIntervalMicros: 1000 },
});
Pyroscope.startWallProfiling();

function busy(ms) {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x += Math.sqrt(x + 1);
  return x;
}

(async () => {
  for (let i = 0; i < 4; i++) {
    busy(400);
    await new Promise((r) => setTimeout(r, 100));
  }
  await Pyroscope.stop();
  await new Promise((r) => setTimeout(r, 200));
  fs.writeFileSync(path.join(sentDir, 'statuses.json'), JSON.stringify(statuses));
})();
