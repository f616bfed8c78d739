// write_profiles.js — writes REAL Node.js profiles with @datadog/pprof for the profgate
// round-trip tests: a wall (time) profile with string and numeric labels and column numbers,
// a wall profile with line-level aggregation, and a heap (allocation) profile, each gzipped
// pprof as produced by the package's own encoder.
// Usage: node write_profiles.js OUTDIR
'use strict';

const fs = require('fs');
const path = require('path');
const pprof = require('@datadog/pprof');

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node write_profiles.js OUTDIR');
  process.exit(2);
}
fs.mkdirSync(outDir, {recursive: true});

// Busy work with a few distinct call stacks so the profiles have real depth.
function leafA(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * Math.sin(i); return s; }
function leafB(n) { let s = ''; for (let i = 0; i < n / 50; i++) s += String.fromCharCode(65 + (i % 26)); return s.length; }
function middle(n, which) { return which ? leafA(n) : leafB(n); }
function spin(ms, which) {
  const end = Date.now() + ms;
  let acc = 0;
  while (Date.now() < end) acc += middle(20000, which);
  return acc;
}

async function write(name, profile) {
  const buf = await pprof.encode(profile);
  fs.writeFileSync(path.join(outDir, name), buf);
}

async function wallProfiles() {
  // Wall profile with contexts -> labels (string and numeric), columns emitted.
  pprof.time.start({intervalMicros: 1000, withContexts: true, columnNumbers: 'emit'});
  pprof.time.setContext({phase: 'alpha', weight: 7});
  spin(150, true);
  pprof.time.setContext({phase: 'beta', weight: 42});
  spin(150, false);
  const labels = ({context}) => {
    if (!context || !context.context) return {};
    const c = context.context;
    return {phase: c.phase, weight: c.weight, 'thread kind': 'main'};
  };
  await write('node-wall.pb.gz', pprof.time.stop(false, labels));

  // Line-level aggregation (several locations per function), columns packed off.
  pprof.time.start({intervalMicros: 1000, lineNumbers: true});
  spin(200, true);
  spin(100, false);
  await write('node-wall-lines.pb.gz', pprof.time.stop(false));
}

async function heapProfile() {
  pprof.heap.start(4096, 64);
  const keep = [];
  for (let i = 0; i < 2000; i++) keep.push(new Array(64).fill(i));
  for (let i = 0; i < 500; i++) keep.push({s: 'x'.repeat(200 + i)});
  const profile = pprof.heap.profile(undefined, undefined, undefined, 'emit');
  pprof.heap.stop();
  await write('node-heap.pb.gz', profile);
  return keep.length;
}

(async () => {
  await wallProfiles();
  await heapProfile();
  for (const f of fs.readdirSync(outDir).sort()) {
    console.log(`wrote ${path.join(outDir, f)} (${fs.statSync(path.join(outDir, f)).size} bytes)`);
  }
})().catch((e) => {
  console.error(`write_profiles: ${e && e.stack || e}`);
  process.exit(1);
});
