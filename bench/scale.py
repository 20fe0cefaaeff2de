r"""How the cost of the scripts grows with the class count: `python -m bench.scale`.

    python -m bench.scale                          # 5, 100 and 1,000 classes
    python -m bench.scale --classes=5,100          # a quicker run
    python -m bench.scale --work_dir=runs/scale --max_rss_gb=8 --output=runs/bench/scale.json

For each class count it draws small photos into class folders (64 px noisy JPEGs, a colour per
class; 5,000 photos in all, at least 2 a class: 1,000 a class at 5 classes, 5 at 1,000), then
runs the scripts as a user runs them, each in a subprocess of its own:
download_and_convert_flowers.py --photos_dir (1,000 validation photos at every class count),
train_alexnet.py for a few steps of a small batch (it saves the checkpoint of its last step and
writes its summaries) and eval_alexnet.py --once. Of each script it reports the wall and CPU time,
the peak resident memory, the console (lines, the longest line, bytes) and what it wrote: the tags
of each kind, the largest image and text summary, the event and other files; then which of the
issue's bounds for 1,000 classes a script exceeds (they hold at any class count). It prints the
tables and writes them as JSON.

This process imports no TensorFlow (event files are read with tensorboard's protos), so nothing
of it counts in the scripts' figures. No test times anything.
"""
import argparse
import dataclasses
import math
import os
import re
import shutil
import sys
import tempfile
import time

import numpy as np
from PIL import Image

import base
from bench import child_runs
from bench import machine
from bench import report
from bench import written
from bench.config import GB
from bench.config import REPO_ROOT
from bench.timing import log

DATASET_NAME = 'scale'
STEPS = ('convert', 'train', 'evaluate')
MIN_PHOTOS_PER_CLASS = 2
# The "done when", measured there at 1,000 classes: the largest value each figure may
# have, by step. A view bounded at 1,000 classes is bounded at any count.
BOUNDS = {
    'train': {'largest_image_side': (2048, 'an image side of at most 2,048 px')},
    'evaluate': {'peak_rss_bytes': (3 * GB - 1, 'under 3 GB peak RSS'),
                 'console_lines': (299, 'under 300 console lines'),
                 'longest_line': (400, 'no line over 400 characters'),
                 'largest_image_side': (4096, 'an image side of at most 4,096 px'),
                 'largest_text_bytes': (256 * 1000 - 1, 'text summaries under 256 KB')},
}


@dataclasses.dataclass(frozen=True)
class ScaleSettings:
  classes: tuple = (5, 100, 1000)
  photos: int = 5000           # photos drawn per class count (at least 2 a class)
  num_validation: int = 1000   # of them in the validation split (at most a fifth)
  steps: int = 3               # training steps
  batch_size: int = 8
  photo_size: int = 64
  timeout: int = 1800          # seconds a script may run
  max_rss_gb: float = 0.0      # stop a script whose processes hold more (0: no limit)
  seed: int = 0


def dataset_shape(classes, settings):
  """(photos per class, photos, validation photos) drawn for a class count."""
  per_class = max(MIN_PHOTOS_PER_CLASS, int(math.ceil(settings.photos / classes)))
  photos = per_class * classes
  return per_class, photos, max(1, min(settings.num_validation, photos // 5))


CLASS_NAME = re.compile(r'n\d{8}')


def class_name(class_id):
  """Folder names as ImageNet's: 'n00000042'."""
  return 'n%08d' % class_id


def draw_photos(photos_dir, classes, per_class, size, seed=0):
  """per_class JPEGs of size x size in photos_dir/<class_name>/ for each class: noise around a
  colour of the class. A folder already complete (its mark beside it) is kept."""
  mark = photos_dir.rstrip(os.sep) + '.complete'
  shape = '%d classes x %d photos of %d px, seed %d\n' % (classes, per_class, size, seed)
  if os.path.isdir(photos_dir) and os.path.exists(mark):
    with open(mark) as f:
      if f.read() == shape:
        return
  shutil.rmtree(photos_dir, ignore_errors=True)
  for c in range(classes):
    rng = np.random.default_rng([seed, c])
    colour = rng.integers(0, 256, 3)
    folder = os.path.join(photos_dir, class_name(c))
    os.makedirs(folder)
    for i in range(per_class):
      pixels = np.clip(colour + rng.normal(0.0, 40.0, (size, size, 3)), 0, 255)
      Image.fromarray(pixels.astype(np.uint8)).save(
          os.path.join(folder, '%s_%d.jpg' % (class_name(c), i)), quality=85)
  base.write_text_atomic(mark, shape)


def commands(dirs, settings, validation):
  """{step: the script's command line} for the folders of one class count."""
  python = [sys.executable]
  dataset = ['--dataset_dir=%s' % dirs['dataset'], '--dataset_name=%s' % DATASET_NAME]
  return {
      'convert': python + [os.path.join(REPO_ROOT, 'download_and_convert_flowers.py'),
                           '--photos_dir=%s' % dirs['photos'], '--num_validation=%d' % validation,
                           '--seed=%d' % settings.seed, '--overwrite'] + dataset,
      'train': python + [os.path.join(REPO_ROOT, 'train_alexnet.py'),
                         '--train_dir=%s' % dirs['train'],
                         '--max_number_of_steps=%d' % settings.steps,
                         '--batch_size=%d' % settings.batch_size] + dataset,
      'evaluate': python + [os.path.join(REPO_ROOT, 'eval_alexnet.py'),
                            '--checkpoint_path=%s' % dirs['train'],
                            '--eval_dir=%s' % dirs['eval'], '--once'] + dataset,
  }


def _written(step, dirs):
  """What a step wrote: the converter its dataset; training its folder (not eval/ in it);
  evaluation its folder."""
  folder, recursive = {'convert': (dirs['dataset'], True), 'train': (dirs['train'], False),
                       'evaluate': (dirs['eval'], True)}[step]
  figures = written.file_figures(folder, recursive)
  figures.update(written.summary_figures(folder, recursive))
  # The scalars of no class (a class's own, eval/recall/n00000042, are counted, not listed).
  figures['scalar_tags'] = [tag for tag in figures['scalar_tags']
                            if not CLASS_NAME.search(tag)]
  return figures


def over_bounds(row):
  """The issue's bounds that row's figures exceed, as 'what (figure)'."""
  over = []
  for key, (limit, what) in BOUNDS.get(row['step'], {}).items():
    if row.get(key) is not None and row[key] > limit:
      over.append('%s (%s)' % (what, _shown(key, row[key])))
  return over


def _shown(key, value):
  """A figure in the units of its bound (GB and KB of 10^9 and 10^3 bytes)."""
  if key == 'peak_rss_bytes':
    return '%.2f GB' % (value / GB)
  if key.endswith('_bytes'):
    return '%.1f KB' % (value / 1000)
  return '{:,}'.format(value) + (' px' if key.endswith('_side') else '')


def run_class_count(classes, settings, work_dir, runner=child_runs.measured_run):
  """Draws the photos of one class count and runs the three scripts on them; a row of figures
  per script run (a script that fails or is stopped ends that class count's rows).
  runner(command, log_prefix, **limits): child_runs.measured_run or a stand-in."""
  per_class, photos, validation = dataset_shape(classes, settings)
  root = os.path.join(work_dir, 'c%d' % classes)
  dirs = {'photos': os.path.join(root, 'photos'), 'dataset': os.path.join(root, 'dataset'),
          'train': os.path.join(root, 'train'), 'logs': os.path.join(root, 'logs')}
  dirs['eval'] = os.path.join(dirs['train'], 'eval')
  log('%d classes: drawing %d photos (%d a class)' % (classes, photos, per_class))
  draw_photos(dirs['photos'], classes, per_class, settings.photo_size, settings.seed)
  shutil.rmtree(dirs['train'], ignore_errors=True)  # a fresh run, not a resumed one
  rows = []
  for step, command in commands(dirs, settings, validation).items():
    log('%d classes: %s' % (classes, step))
    row = {'classes': classes, 'step': step, 'photos': photos, 'validation': validation}
    row.update(runner(command, os.path.join(dirs['logs'], step), cwd=REPO_ROOT,
                      timeout=settings.timeout, max_rss_bytes=settings.max_rss_gb * GB))
    row.update(_written(step, dirs))
    row['over_bounds'] = over_bounds(row)
    rows.append(row)
    log('%d classes: %s %s in %.0f s, peak RSS %.2f GB, %d console lines'
        % (classes, step, _status(row), row['seconds'], row['peak_rss_bytes'] / GB,
           row['console_lines']))
    if _status(row) != 'ok':
      break
  return rows


def _status(row):
  if row.get('stopped'):
    return 'stopped: ' + row['stopped']
  return 'ok' if row.get('exit_code') == 0 else 'exit %s' % row.get('exit_code')


def run(settings, work_dir, runner=child_runs.measured_run):
  """Every class count of settings into one results dict."""
  results = {'settings': dataclasses.asdict(settings), 'machine': {
      'cpu': machine.cpu_model(), 'cores': os.cpu_count(),
      'memory_gb': round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GB, 1)},
      'load_before': list(os.getloadavg()), 'started': time.strftime('%Y-%m-%d %H:%M:%S'),
      'rows': []}
  for classes in settings.classes:
    results['rows'].extend(run_class_count(classes, settings, work_dir, runner))
  results['load_after'] = list(os.getloadavg())
  results['finished'] = time.strftime('%Y-%m-%d %H:%M:%S')
  return results


def _display(row):
  """A row with its figures as the tables show them."""
  shown = dict(row, status=_status(row), rss_gb=row['peak_rss_bytes'] / GB,
               tree_gb=row['tree_rss_bytes'] / GB, console_kb=row['console_bytes'] / 1000,
               event_mb=row.get('event_bytes', 0) / 1e6, file_mb=row.get('file_bytes', 0) / 1e6,
               text_kb=row.get('largest_text_bytes', 0) / 1000)
  tags = row.get('tags') or {}
  shown.update(scalars=tags.get('scalar', 0), images=tags.get('image', 0),
               texts=tags.get('text', 0))
  if row.get('largest_image'):
    shown['image'] = '%dx%d %s' % (row['largest_image'][0], row['largest_image'][1],
                                   row['largest_image_tag'])
  if row.get('largest_text_tag'):
    shown['text'] = row['largest_text_tag']
  return shown


def format_report(results):
  """The results as text: a table of costs, one of what was written, the bounds exceeded."""
  rows = [_display(row) for row in results['rows']]
  settings = results['settings']
  machine_info = results['machine']
  head = ('Scale: %s classes; %d photos of %d px drawn per class count (at least %d a class), '
          'training %d steps of batch %d\nMachine: %s, %s cores, %s GB; load average %s -> %s'
          % (', '.join(str(c) for c in settings['classes']), settings['photos'],
             settings['photo_size'], MIN_PHOTOS_PER_CLASS, settings['steps'],
             settings['batch_size'], machine_info['cpu'], machine_info['cores'],
             machine_info['memory_gb'], ' '.join('%.2f' % x for x in results['load_before']),
             ' '.join('%.2f' % x for x in results.get('load_after', ()))))
  cost = report.format_table(
      'What each script cost (peak RSS: its largest process; tree: all its processes, sampled)',
      [('classes', 'classes', '%d'), ('script', 'step', None), ('photos', 'photos', '%d'),
       ('validation', 'validation', '%d'), ('status', 'status', None),
       ('wall s', 'seconds', '%.1f'), ('CPU s', 'cpu_seconds', '%.1f'),
       ('peak RSS GB', 'rss_gb', '%.2f'), ('tree GB', 'tree_gb', '%.2f'),
       ('console lines', 'console_lines', '%d'), ('longest', 'longest_line', '%d'),
       ('console KB', 'console_kb', '%.1f')], rows)
  wrote = report.format_table(
      'What each script wrote (summary tags of each kind; the largest image, HxW, and text)',
      [('classes', 'classes', '%d'), ('script', 'step', None), ('scalars', 'scalars', '%d'),
       ('images', 'images', '%d'), ('texts', 'texts', '%d'), ('largest image', 'image', None),
       ('largest text KB', 'text_kb', '%.1f'), ('text', 'text', None),
       ('events MB', 'event_mb', '%.2f'), ('files', 'files', '%d'), ('MB', 'file_mb', '%.1f')],
      rows)
  over = ['  %d classes, %s: %s' % (row['classes'], row['step'], '; '.join(row['over_bounds']))
          for row in results['rows'] if row.get('over_bounds')]
  bounds = ('Over the issue\'s bounds (evaluation: under 3 GB, under 300 console lines of at most '
            '400 characters, images at most 4,096 px a side, texts under 256 KB; training: '
            'images at most 2,048 px a side):\n' + ('\n'.join(over) or '  none'))
  return '\n\n'.join([head, cost, wrote, bounds])


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m bench.scale',
                                   description=__doc__.split('\n')[0])
  defaults = ScaleSettings()
  parser.add_argument('--classes', default=','.join(str(c) for c in defaults.classes),
                      help='comma-separated class counts')
  for name in ('photos', 'num_validation', 'steps', 'batch_size', 'photo_size', 'timeout',
               'seed'):
    parser.add_argument('--' + name, type=int, default=getattr(defaults, name))
  parser.add_argument('--max_rss_gb', type=float, default=defaults.max_rss_gb,
                      help='stop a script whose processes hold more resident memory (0: no '
                           'limit)')
  parser.add_argument('--output', default='runs/bench/scale.json', help='the JSON file')
  parser.add_argument('--work_dir', default=None,
                      help='keep the photos, datasets, runs and console logs here (default: a '
                           'temporary folder, removed afterwards)')
  args = parser.parse_args(argv)
  try:
    args.classes = tuple(int(c) for c in args.classes.split(',') if c.strip())
  except ValueError:
    parser.error('--classes takes comma-separated numbers, got %r' % args.classes)
  if not args.classes or min(args.classes) < 2:
    parser.error('--classes needs class counts of at least 2, got %r' % (args.classes,))
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  settings = ScaleSettings(**{f.name: getattr(args, f.name)
                              for f in dataclasses.fields(ScaleSettings)})
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='bench_scale_')
  os.makedirs(work_dir, exist_ok=True)
  try:
    results = run(settings, os.path.abspath(work_dir))
  finally:
    if not args.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)
  print(format_report(results))
  report.write_json(args.output, results)
  print('\nWrote %s' % args.output)
  return 0 if all(_status(row) == 'ok' for row in results['rows']) else 1


if __name__ == '__main__':
  sys.exit(main())
