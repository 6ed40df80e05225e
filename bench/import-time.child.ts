/*
 * Child process of import-time.bench: loads one module the way its mode says and prints, as its last line,
 * `{"ms":…,"cpuMs":…,"files":…}`: the time the load took, the CPU time it used (less disturbed by other
 * processes on a busy machine) and how many CommonJS files it read. It imports nothing
 * before the measurement, so the process is as cold as an application's at startup.
 *
 *   node import-time.child.js <specifier> import|require
 */
import { createRequire } from 'node:module';

const [specifier, mode] = process.argv.slice(2);
const require = createRequire(import.meta.url);
const before = Object.keys(require.cache).length;
const cpu = process.cpuUsage();
const started = performance.now();
if (mode === 'require') require(specifier);
else await import(specifier);
const ms = performance.now() - started;
const { user, system } = process.cpuUsage(cpu);
const cpuMs = (user + system) / 1000;
console.log(JSON.stringify({ ms, cpuMs, files: Object.keys(require.cache).length - before }));
