"""The converter section: synthetic photos of Flowers size, and images/s of convert_photos (and
of download_and_convert_flowers.py as a user runs it) with one worker and with every core."""
import os
import resource
import shutil
import subprocess
import sys
import time

from bench.config import DATASET_NAME
from bench.config import REPO_ROOT
from bench.timing import log
from datasets import dataset_utils
from datasets.convert import photos


def make_photos(photos_dir, photos_per_class, copies=1, seed=0):
  """Synthetic flower photos (240-500 px, like the real ones) in photos_dir/<class>/, each drawn
  photo present `copies` times (hard links, else copies: drawing costs ~20 ms a photo). Returns
  the relative paths. Drawn in a worker per core, as the converter draws --synthetic."""
  drawn = photos.draw_synthetic(photos_dir, photos_per_class, seed, photos.default_num_workers())
  paths = list(drawn)
  for copy in range(1, copies):
    for relative in drawn:
      stem, ext = os.path.splitext(relative)
      target = '%s_copy%d%s' % (stem, copy, ext)
      source, destination = os.path.join(photos_dir, relative), os.path.join(photos_dir, target)
      if not os.path.exists(destination):
        try:
          os.link(source, destination)
        except OSError:
          shutil.copyfile(source, destination)
      paths.append(target)
  return paths


def _children_cpu_seconds():
  usage = resource.getrusage(resource.RUSAGE_CHILDREN)
  return usage.ru_utime + usage.ru_stime


def converter_rate(photos_dir, dataset_dir, num_workers, num_validation, num_shards):
  """One convert_photos run (overwriting): images/s over the whole call, and the CPU time per
  image of this process and its (finished) worker processes."""
  # Here, not at the top: writer imports TensorFlow, which the spawned workers (they import
  # bench.run) must not; and before the clock, as the converter script imports it.
  from datasets.convert import writer
  start, cpu_start, child_start = time.perf_counter(), time.process_time(), _children_cpu_seconds()
  manifest = writer.convert_photos(photos_dir, dataset_dir, dataset_name=DATASET_NAME,
                                    num_validation=num_validation, num_shards=num_shards,
                                    num_workers=num_workers, overwrite=True)
  seconds = time.perf_counter() - start
  cpu = time.process_time() - cpu_start + _children_cpu_seconds() - child_start
  images = sum(manifest['splits'][split]['num_samples'] for split in dataset_utils.SPLITS)
  return {'num_workers': num_workers, 'images': images, 'seconds': seconds,
          'images_per_sec': images / max(seconds, 1e-9), 'cpu_ms_per_image': 1000.0 * cpu / images}


def script_converter_rate(photos_dir, dataset_dir, num_workers, num_validation, num_shards):
  """download_and_convert_flowers.py --photos_dir in a subprocess, timed as a whole (its
  TensorFlow import included): what a user waits for."""
  command = [sys.executable, os.path.join(REPO_ROOT, 'download_and_convert_flowers.py'),
             '--photos_dir=%s' % photos_dir, '--dataset_dir=%s' % dataset_dir,
             '--num_workers=%d' % num_workers, '--num_validation=%d' % num_validation,
             '--num_shards=%d' % num_shards, '--overwrite']
  start, child_start = time.perf_counter(), _children_cpu_seconds()
  subprocess.run(command, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)
  seconds = time.perf_counter() - start
  images = len(photos.list_photos(photos_dir)[1])
  return {'how': 'script', 'num_workers': num_workers, 'images': images, 'seconds': seconds,
          'images_per_sec': images / max(seconds, 1e-9),
          'cpu_ms_per_image': 1000.0 * (_children_cpu_seconds() - child_start) / images}


def bench_converter(photos_dir, dataset_dir, settings, cores):
  """convert_photos with 1 worker and with all cores, interleaved, best of the repeats; then
  (settings.converter_script) the script the same way, once each, into a scratch folder."""
  best = {}
  for _ in range(settings.converter_repeats):
    for workers in sorted({1, cores}):
      row = converter_rate(photos_dir, dataset_dir, workers, settings.num_validation,
                           settings.num_shards)
      row['how'] = 'convert_photos'
      log('converter, %d worker(s): %.1f images/s' % (workers, row['images_per_sec']))
      if workers not in best or row['images_per_sec'] > best[workers]['images_per_sec']:
        best[workers] = row
  rows = [best[w] for w in sorted(best)]
  if settings.converter_script:
    scratch = dataset_dir + '_script'
    for workers in sorted({1, cores}):
      row = script_converter_rate(photos_dir, scratch, workers, settings.num_validation,
                                  settings.num_shards)
      log('download_and_convert_flowers.py, %d worker(s): %.1f s' % (workers, row['seconds']))
      rows.append(row)
    shutil.rmtree(scratch, ignore_errors=True)
  return rows


def run_section(bench):
  bench.results['converter'] = bench_converter(bench.photos_dir, bench.dataset_dir,
                                               bench.settings, bench.machine['cores'])
