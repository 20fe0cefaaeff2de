"""The report: the results as text tables (report()), and as a JSON file (write_json())."""
import json
import os

import base
from bench.config import GB
from bench.config import MODEL_NAME


def _cell(value, fmt):
  if value is None:
    return '-'
  if isinstance(value, bool):
    return 'yes' if value else 'no'
  return fmt % value if fmt else str(value)


def format_table(title, columns, rows):
  """A text table: columns are (header, key, printf format or None)."""
  cells = [[header for header, _, _ in columns]]
  for row in rows:
    cells.append([_cell(row.get(key), fmt) for _, key, fmt in columns])
  widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
  lines = [title]
  for i, line in enumerate(cells):
    lines.append('  ' + '  '.join(c.rjust(w) if i and j else c.ljust(w)
                                  for j, (c, w) in enumerate(zip(line, widths))))
  return '\n'.join(lines)


def profile_rows(flops, profiles):
  """One row per layer: its share of the forward FLOPs and of each profile's step time (%)."""
  per_layer = flops['forward_per_layer']
  total = float(sum(per_layer.values())) or 1.0
  layers = sorted(set(per_layer) | {r['name'] for p in profiles for r in p['by_layer']},
                  key=lambda name: (name == 'other', name))
  rows = []
  for layer in layers:
    row = {'layer': layer, 'flops_share': 100.0 * per_layer.get(layer, 0) / total}
    for profile in profiles:
      shares = {r['name']: r['share'] for r in profile['by_layer']}
      row[profile['precision']] = 100.0 * shares.get(layer, 0.0)
    rows.append(row)
  return rows


NET = ('net', 'model', None)
RATE = ('images/s', 'images_per_sec', '%.1f')
MEDIAN = ('median', 'median_images_per_sec', '%.1f')
CPU = ('CPU ms/img', 'cpu_ms_per_image', '%.1f')
CORES = ('cores used', 'cores_used', '%.2f')


def _table(key, title, columns):
  """A part of the report: the table of results[key] (when there are rows); the title is
  formatted with the first row."""
  def part(results):
    rows = results.get(key)
    return [format_table(title.format(**rows[0]), columns, rows)] if rows else []
  return part


def _header(results):
  machine = results['machine']
  return ['Machine: %s, %d cores, bf16 %s, GPUs: %s; TensorFlow %s; load average %s -> %s'
          % (machine['cpu'], machine['cores'], 'yes' if machine['bf16'] else 'no',
             ', '.join(machine['gpus']) or 'none', machine['tensorflow'],
             ' '.join('%.2f' % x for x in results['load_before']),
             ' '.join('%.2f' % x for x in results.get('load_after', ()))),
          'Command: %s (mode %s)' % (results['command'], results['mode'])]


def _flops(results):
  flops = results.get('flops')
  if not flops:
    return []
  return ['FLOPs per image: %s\n  (%s)' % (', '.join(
      '%s forward %.3f G, training %.3f G' % (model, f['forward_per_image'] / 1e9,
                                             f['training_per_image'] / 1e9)
      for model, f in sorted(flops.items())), next(iter(flops.values()))['method'])]


def _profiles(results):
  profiles = results.get('profiles')
  if not (profiles and (results.get('flops') or {}).get(MODEL_NAME)):
    return []
  parts = [format_table(
      'Where a training step goes (in-memory, batch %d; share of summed kernel time of one '
      'traced step, by layer: forward + backward + regularizer + update)'
      % profiles[0]['batch_size'],
      [('layer', 'layer', None), ('forward FLOPs', 'flops_share', '%.1f%%')] +
      [('%s time' % p['precision'], p['precision'], '%.1f%%') for p in profiles],
      profile_rows(results['flops'][MODEL_NAME], profiles))]
  for profile in profiles:
    parts.append('  top kernels, %s: %s' % (profile['precision'], ', '.join(
        '%s %.0f%%' % (row['name'], 100 * row['share']) for row in profile['by_type'][:6])))
  return parts


def _memory(results):
  memory = results.get('memory')
  if not memory:
    return []
  return ['Peak RSS of training (trainer.build_graph, batch %d, fp32, in a subprocess): '
          '%.2f GB (VmHWM); %.1f images/s there'
          % (memory['batch_size'], memory['peak_rss_bytes'] / GB, memory['images_per_sec'])]


def _errors(results):
  return ['Section %s failed: %s' % (name, error)
          for name, error in sorted((results.get('errors') or {}).items())]


# The report's parts in order: each takes the results and gives its paragraphs (none when the
# results lack what it shows).
PARTS = (
    _header,
    _table('converter', 'Converter (convert_photos, {images} synthetic photos)',
           [('run', 'how', None), ('workers', 'num_workers', '%d'), RATE, CPU,
            ('seconds', 'seconds', '%.1f')]),
    _table('pipeline', 'Input pipeline alone (training preprocessing, batch {batch_size})',
           [('pipeline', 'pipeline', None), ('fast_mode', 'fast_mode', None),
            ('decode_and_crop', 'decode_and_crop', None), RATE, MEDIAN, CPU, CORES]),
    _table('training', 'Training (train op images/s; memory = constant batch, pipeline = queue '
           'input + inception preprocessing, trainer = trainer.build_graph)',
           [NET, ('input', 'source', None), ('precision', 'precision', None),
            ('batch', 'batch_size', '%d'), RATE, MEDIAN, CPU, CORES,
            ('pipeline/memory', 'input_ratio', '%.3f')]),
    _table('evaluation', 'Evaluation (is_training=False, central crop, one pass of the '
           'validation split)',
           [NET, ('input', 'pipeline', None), ('batch', 'batch_size', '%d'),
            ('images', 'images', None), RATE, CPU, ('pass s', 'pass_seconds', '%.1f')]),
    _table('peaks', 'Matmul peak (tf.linalg.matmul, trainer session settings)',
           [('precision', 'precision', None), ('size', 'size', '%d'),
            ('GFLOP/s', 'gflops', '%.1f'), ('median', 'median_gflops', '%.1f'),
            ('GFLOP/CPU-s', 'gflops_per_cpu_second', '%.1f'), CORES]),
    _flops,
    _profiles,
    _table('utilization', 'Training against the peak',
           [NET, ('input', 'source', None), ('precision', 'precision', None),
            ('batch', 'batch_size', '%d'), ('GFLOP/s', 'gflops', '%.1f'),
            ('peak', 'peak_gflops', '%.1f'), ('fraction', 'fraction_of_peak', '%.2f'),
            ('GFLOP/CPU-s', 'gflops_per_cpu_second', '%.1f'),
            ('CPU fraction', 'cpu_fraction', '%.2f')]),
    _memory,
    _table('explore', 'Explorations (batch {batch_size}, fp32)',
           [('what', 'what', None), RATE, MEDIAN, CPU, CORES,
            ('vs baseline', 'vs_baseline', '%.3f')]),
    _errors,
    _table('targets', 'Targets (from the issue, for a 2-core CPU)',
           [('target', 'name', None), ('wanted', 'target', None), ('figure', 'figure', '%.3f'),
            ('met', 'met', None), ('CPU-time estimate', 'cpu_estimate', '%.3f')]),
)


def report(results):
  """The whole result as text tables."""
  return '\n\n'.join(paragraph for part in PARTS for paragraph in part(results))


def write_json(path, results):
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  base.write_text_atomic(path, json.dumps(results, indent=2, sort_keys=True, default=str) + '\n')
