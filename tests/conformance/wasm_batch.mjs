// Run conformance cases through a php-wasm build (@php-wasm/node, SAPI "wasm"): used by
// tests/conformance/record_wasm.py. node wasm_batch.mjs VERSION OUT.json < cases.json
// Each case: {id, dir, script, record, source, ini}; a fresh PHP per case, with the CLI's
// output settings, the case's script written at its path and PHPRT_RECORD in its environment.
import { PHP, setPhpIniEntries } from '@php-wasm/universal';
import { loadNodeRuntime } from '@php-wasm/node';
import fs from 'fs';

const [version, outPath] = process.argv.slice(2);
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = [];
let release = '';
for (const c of cases) {
  const php = new PHP(await loadNodeRuntime(version, {emscriptenOptions: {processId: 1}}));
  await setPhpIniEntries(php, {display_errors: '1', html_errors: '0', implicit_flush: '1', output_buffering: '0',
    ignore_repeated_errors: '0', max_execution_time: '0', error_reporting: 'E_ALL', ...c.ini});
  php.mkdir(c.dir);
  php.writeFile(c.script, c.source);
  php.writeFile(c.record, '');
  let r;
  try { r = await php.run({scriptPath: c.script, env: {PHPRT_RECORD: c.record}}); } catch (e) { r = e.response; }
  let record = '';
  try { record = php.readFileAsText(c.record); } catch (e) { /* no record file: no result */ }
  out.push({id: c.id, stdout: Buffer.from(r ? r.bytes : []).toString('hex'), errors: r ? r.errors : '',
            exit: r ? r.exitCode : null, record});
  if (!release) { release = (await php.run({code: '<?php echo PHP_VERSION;'})).text; }
  php.exit();
}
fs.writeFileSync(outPath, JSON.stringify({php: release, cases: out}));
