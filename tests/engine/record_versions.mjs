// Runs PHP snippets through the @php-wasm/node builds (8.3, 8.4, 8.5) for record_versions.py.
// stdin: {"versions": [...], "snippets": {id: code}}; stdout: {version: {id: {text, exit, status, headers}}}.
import { PHP, setPhpIniEntries } from '@php-wasm/universal';
import { loadNodeRuntime } from '@php-wasm/node';
import fs from 'fs';
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {};
for (const v of input.versions) {
  out[v] = {};
  for (const [id, code] of Object.entries(input.snippets)) {
    const php = new PHP(await loadNodeRuntime(v, {emscriptenOptions: {processId: 1}}));
    await setPhpIniEntries(php, {display_errors: '1', html_errors: '0', log_errors: '0', error_reporting: 'E_ALL',
                                 implicit_flush: '0', ignore_repeated_errors: '0'});
    let r;
    try { r = await php.run({code}); } catch (e) { r = e.response; }
    out[v][id] = {text: r.text, exit: r.exitCode, status: r.httpStatusCode, headers: r.headers};
    php.exit();
  }
}
process.stdout.write(JSON.stringify(out));
