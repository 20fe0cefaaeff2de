r"""Where the time goes, measured against this machine's own limits.

    python -m bench.run                     # everything (about 12 minutes on 2 CPU cores)
    python -m bench.run --quick             # every piece once, few steps (about 4 minutes)
    python -m bench.run --output=runs/bench/results.json --sections=training,limits

Measures the converter, the input pipelines alone, training fed from memory and from the full
pipeline (fp32 and mixed precision), the evaluation pass, this machine's matrix-multiply peak,
the training FLOPs per image (TensorFlow's profiler), where a traced training step spends its
time (by layer and kernel), the peak RSS of training, and a few variations (threads, pipelines,
decode_and_crop, caching decoded images); alexnet_v2 throughout, and torchvision's AlexNet
(alexnet_tv) too: its training from memory, its evaluation and its fraction of the peak (each
row names its net: 'model'). Prints tables and writes a JSON file with the machine, its load and
every figure, and which of the targets (bench/targets.py) are met.

Each rate is the best of a few timed windows after warm-up steps: other work on a shared machine
only ever slows a window down. The median window, the process CPU time per image and the cores
the process actually got (CPU time / wall time) are kept too. The same command runs on a GPU
machine: the net, the in-memory batch and the matmul go to /gpu:0 when one is visible (as in the
trainer), and mixed precision is then fp16.

TensorFlow is imported inside the functions of every bench module, never at the top: the
converter starts its worker processes with 'spawn', which re-imports this module (and so the
modules it imports), and they must stay as light as the converter's own workers.
"""
import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time

from bench import converter
from bench import evaluation_rate
from bench import explore
from bench import input_rate
from bench import limits
from bench import memory
from bench import report
from bench import targets
from bench import training_rate
from bench.config import DATASET_NAME
from bench.config import MODES
from bench.config import SECTIONS
from bench.config import Bench
from bench.machine import machine_info
from bench.machine import quiet_tensorflow
from bench.timing import log

_SECTION_RUNNERS = {
    'converter': converter.run_section,
    'pipeline': input_rate.run_section,
    'training': training_rate.run_section,
    'evaluation': evaluation_rate.run_section,
    'limits': limits.run_section,
    'memory': memory.run_section,
    'explore': explore.run_section,
}


def _prepare_data(bench, sections):
  """Draws the synthetic photos (unless work_dir has them) and, when the converter section does
  not run, converts them once (unless work_dir has a complete dataset)."""
  settings = bench.settings
  if not os.path.isdir(bench.photos_dir):
    log('drawing %d synthetic photos (each %d times) into %s'
        % (5 * settings.photos_per_class, settings.photo_copies, bench.photos_dir))
    converter.make_photos(bench.photos_dir, settings.photos_per_class, settings.photo_copies)
  from datasets import checks  # imports TensorFlow: the converter's workers import this module
  if 'converter' not in sections and not checks.check_complete(bench.dataset_dir,
                                                                DATASET_NAME)[0]:
    converter.converter_rate(bench.photos_dir, bench.dataset_dir, bench.machine['cores'],
                             settings.num_validation, settings.num_shards)


def run(work_dir, settings, sections=SECTIONS, command='', mode='', runners=None):
  """Runs the sections into a results dict (converting a synthetic photo tree in work_dir).
  A section that fails is logged and recorded under 'errors'; the others still run.
  runners: {section: run_section(bench)} to run instead of the sections' own."""
  runners = _SECTION_RUNNERS if runners is None else runners
  results = {'command': command, 'mode': mode, 'settings': dataclasses.asdict(settings),
             'load_before': list(os.getloadavg()), 'started': time.strftime('%Y-%m-%d %H:%M:%S'),
             'errors': {}}
  bench = Bench(settings, os.path.join(work_dir, 'dataset'), os.path.join(work_dir, 'photos'),
                machine_info(), results)
  results['machine'] = bench.machine
  _prepare_data(bench, sections)
  # Explorations compare against the training rows, and the peak against both.
  needed = set(sections) | ({'training'} if 'explore' in sections else set())
  for name in SECTIONS:
    if name in needed:
      try:
        runners[name](bench)
      except Exception as e:  # pylint: disable=broad-except
        log('section %s failed: %s: %s' % (name, type(e).__name__, e))
        results['errors'][name] = '%s: %s' % (type(e).__name__, e)
  results['targets'] = targets.evaluate(results)
  results['load_after'] = list(os.getloadavg())
  results['finished'] = time.strftime('%Y-%m-%d %H:%M:%S')
  return results


def parse_args(argv):
  parser = argparse.ArgumentParser(prog='python -m bench.run', description=__doc__.split('\n')[0])
  parser.add_argument('--quick', action='store_true', help='few steps, batch 32 only')
  parser.add_argument('--output', default='runs/bench/results.json', help='the JSON file')
  parser.add_argument('--work_dir', default=None,
                      help='keep the synthetic photos and dataset here (default: a temporary '
                           'folder, removed afterwards)')
  parser.add_argument('--sections', default=','.join(SECTIONS),
                      help='comma-separated subset of: %s' % ', '.join(SECTIONS))
  args = parser.parse_args(argv)
  args.sections = tuple(s for s in args.sections.split(',') if s)
  unknown = set(args.sections) - set(SECTIONS)
  if unknown:
    parser.error('unknown section(s) %s; choose from %s'
                 % (', '.join(sorted(unknown)), ', '.join(SECTIONS)))
  return args


def main(argv=None):
  args = parse_args(sys.argv[1:] if argv is None else argv)
  quiet_tensorflow()
  mode = 'quick' if args.quick else 'full'
  command = 'python -m bench.run ' + ' '.join(sys.argv[1:] if argv is None else argv)
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='bench_')
  os.makedirs(work_dir, exist_ok=True)
  try:
    results = run(work_dir, MODES[mode], args.sections, command.strip(), mode)
  finally:
    if not args.work_dir:
      shutil.rmtree(work_dir, ignore_errors=True)
  print(report.report(results))
  report.write_json(args.output, results)
  print('\nWrote %s' % args.output)
  return 1 if results['errors'] else 0


if __name__ == '__main__':
  sys.exit(main())
