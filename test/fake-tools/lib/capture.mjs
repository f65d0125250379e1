// Reads the nvidia_gpu_exporter capture format: a header, then sections
// delimited by a line of '#' characters, each titled `# <state> :: <what>`
// and `# $ <command>`. Everything between delimiters is verbatim tool output.
import { readFileSync } from 'node:fs';

const RULE = '#'.repeat(80);

export function readCapture(path) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const sections = new Map();
  for (let i = 0; i < lines.length; i++) {
    const title = /^# (\w+) :: (.+?)(?: \(.*\))?$/.exec(lines[i]);
    if (!title || lines[i - 1] !== RULE) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== RULE) j++;
    const body = [];
    for (let k = j + 1; k < lines.length && lines[k] !== RULE; k++) body.push(lines[k]);
    // The collector separates sections with blank lines; they are not tool output.
    while (body.length && body[body.length - 1] === '') body.pop();
    sections.set(`${title[1]} :: ${title[2]}`, body.join('\n') + '\n');
  }
  return sections;
}

/** `name [unit]` header cells to { name, unit }. */
export function parseHeader(line) {
  return line.split(', ').map((cell) => {
    const m = /^(.*?)(?: \[(.+)\])?$/.exec(cell.trim());
    return { name: m[1], unit: m[2] };
  });
}

/**
 * The output nvidia-smi gives for `--<kind>=<fields> --format=<format>` on the
 * captured machine: columns picked from the all-fields section by name or
 * alias, units stripped for `nounits` as nvidia-smi does. With gpus > 1 the
 * captured GPU is repeated with its own uuid, bus id, index and pids; with
 * lostLast the last one is reported lost, as a GPU that fell off the bus.
 * `values` replaces the cells of the named columns (`{"clocks.sm": "1e303"}`)
 * in every row, as a tool printing out-of-domain numbers would.
 */
export function answerQuery(sections, state, kind, fields, format, { gpus = 1, lostLast = false, values = {} } = {}) {
  const aliases = aliasMap(sections.get(`capabilities :: help-${kind}`) ?? '');
  const [headerLine, ...rows] = sections.get(`${state} :: ${kind}`).trimEnd().split('\n');
  const header = parseHeader(headerLine);
  const cols = [];
  for (const f of fields) {
    const canonical = aliases.get(f);
    const i = canonical === undefined ? -1 : header.findIndex((h) => h.name === canonical || aliases.get(h.name) === canonical);
    if (i < 0) return { code: 2, text: `Field "${f}" is not a valid field to query.\n\n` };
    cols.push(i);
  }
  const noheader = format.includes('noheader');
  const nounits = format.includes('nounits');
  const lines = [];
  if (!noheader) lines.push(cols.map((i) => (header[i].unit && !nounits ? `${header[i].name} [${header[i].unit}]` : header[i].name)).join(', '));
  let lost = false;
  for (let g = 0; g < gpus; g++) {
    for (const row of rows) {
      const cells = replicate(row.split(', '), header, g, gpus);
      if (kind === 'query-gpu' && lostLast && g === gpus - 1) {
        const bus = cells[header.findIndex((h) => h.name === 'pci.bus_id')];
        lines.push(`Unable to determine the device handle for GPU ${bus.replace(/^0000/, '')}: GPU is lost.  Reboot the system to recover this GPU`);
        lost = true;
        continue;
      }
      for (const [name, text] of Object.entries(values)) {
        const i = header.findIndex((h) => h.name === name);
        if (i >= 0) cells[i] = text;
      }
      lines.push(cols.map((i) => (nounits && header[i].unit ? stripUnit(cells[i], header[i].unit) : cells[i])).join(', '));
    }
  }
  return { code: lost ? 15 : 0, text: lines.length ? lines.join('\n') + '\n' : '' };
}

/** nvidia-smi's nounits drops the unit the header names: `631.95 W` -> `631.95`. */
function stripUnit(value, unit) {
  return value.endsWith(' ' + unit) ? value.slice(0, -unit.length - 1) : value;
}

/** Each `"name" or "alias"` entry of --help-query-*, both mapped to the name. */
function aliasMap(help) {
  const map = new Map();
  for (const line of help.split('\n')) {
    const m = /^"([^"]+)"((?:\s+or\s+"[^"]+")*)\s*$/.exec(line);
    if (!m) continue;
    map.set(m[1], m[1]);
    for (const a of m[2].matchAll(/"([^"]+)"/g)) map.set(a[1], m[1]);
  }
  return map;
}

/** GPU g > 0 of a replicated node: same values, its own uuid, bus id, index and pids. */
function replicate(cells, header, g, gpus) {
  if (g === 0) return cells;
  const at = (name) => header.findIndex((h) => h.name === name);
  const copy = [...cells];
  for (const name of ['uuid', 'gpu_uuid']) {
    const i = at(name);
    if (i >= 0) copy[i] = copy[i].slice(0, -4) + g.toString(16).padStart(4, '0');
  }
  for (const name of ['pci.bus_id', 'gpu_bus_id']) {
    const i = at(name);
    if (i >= 0) copy[i] = copy[i].replace(/:[0-9A-F]{2}:/i, ':' + (0x10 + g).toString(16).toUpperCase().padStart(2, '0') + ':');
  }
  if (at('index') >= 0) copy[at('index')] = String(g);
  if (at('count') >= 0) copy[at('count')] = String(gpus);
  if (at('pid') >= 0) copy[at('pid')] = String(Number(copy[at('pid')]) + g * 100000);
  return copy;
}
