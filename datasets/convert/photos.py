"""The photos a conversion starts from: the class-folder list, the train/validation split, the
shard ranges, and checking (or drawing synthetic) photos in worker processes.

The split is stratified and reproducible: the file list is sorted and shuffled with
random.Random(seed) (so it never depends on file-system order); every class of two or more photos
gets at least one validation photo when num_validation allows, the rest in proportion to the
class sizes (largest remainder, ties in the shuffled order), and never its last training photo; a
class of one photo goes to training. A folder whose top level is a given split (train/ and
validation/ or val/, each of class folders) keeps that split instead.

No TensorFlow here, by design: the worker processes are started with 'spawn' and re-import the
__main__ module, which may import this one at its top (bench/run.py does); the workers
themselves run datasets/images.py and datasets/synthetic only.
"""
import collections
import concurrent.futures
import functools
import hashlib
import heapq
import itertools
import multiprocessing
import os
import random
import re

from absl import logging

from base import UserError
from datasets import images
from datasets.synthetic import synthetic_flowers

TRAIN_FOLDER = 'train'
VALIDATION_FOLDERS = ('validation', 'val')  # the first one present is the validation split
IGNORED_FOLDERS = ('test',)  # beside train/: a test split (often without labels), not converted


def _folders(path):
  return sorted(name for name in os.listdir(path)
                if not name.startswith('.') and os.path.isdir(os.path.join(path, name)))


def given_split_of(folders, where):
  """{'train': 'train', 'validation': 'val' or 'validation'} when the top-level folder names are
  a given split: train/ beside validation/ or val/ (and test/, not converted), nothing else.
  None when they are class folders. UserError (naming `where`) for train/ without a
  validation folder, or with both."""
  folders = set(folders)
  if TRAIN_FOLDER not in folders or not folders <= set(
      (TRAIN_FOLDER,) + VALIDATION_FOLDERS + IGNORED_FOLDERS):
    return None
  validation = [name for name in VALIDATION_FOLDERS if name in folders]
  if not validation:
    raise UserError('%s has a train/ folder but no validation/ or val/: give the validation '
                    'photos as %s/val/<class>/<photo>, or put the class folders at the top'
                    % (where, where))
  if len(validation) > 1:
    raise UserError('%s has both validation/ and val/: keep one of them' % where)
  return {'train': TRAIN_FOLDER, 'validation': validation[0]}


def given_split(photos_dir):
  """The folders of the split photos_dir comes with (given_split_of), or None."""
  if not os.path.isdir(photos_dir):
    return None  # (list_photos says so)
  return given_split_of(_folders(photos_dir), photos_dir)


def list_photos(photos_dir):
  """(class names sorted, [(relative_path, class_id)] sorted, [(relative_path, why skipped)]
  sorted) for photos_dir/<class>/<file>, or for photos_dir/<split folder>/<class>/<file> when it
  comes split (given_split): the classes are then those of both split folders.

  Hidden folders and files (starting with '.') are ignored, as are files directly in photos_dir
  (or in a split folder) and folders inside class folders. Regular files (or links to one) of
  any extension are listed as photos: they are checked later. Anything else in a class folder (a
  FIFO, a device or a link to one, a socket, a link to nothing) is listed apart with the reason
  the manifest gives it, told by os.stat alone: it is never opened (opening a FIFO waits for a
  writer).
  """
  if not os.path.isdir(photos_dir):
    raise UserError('photos folder %s does not exist: give a folder of class folders '
                    '(<dir>/<class>/<photo>)' % photos_dir)
  split = given_split(photos_dir)
  roots = [''] if split is None else [split['train'] + '/', split['validation'] + '/']
  classes_of_roots = {}
  for root in roots:
    classes_of_roots[root] = _folders(os.path.join(photos_dir, root))
    if not classes_of_roots[root]:
      raise UserError('%s has no class folders: expected %s/<class>/<photo>'
                      % (os.path.join(photos_dir, root).rstrip('/'),
                         os.path.join(photos_dir, root).rstrip('/')))
  class_names = sorted(set().union(*classes_of_roots.values()))
  class_ids = {name: i for i, name in enumerate(class_names)}
  photos, not_files = [], []
  for root, folders in classes_of_roots.items():
    for class_name in folders:
      with os.scandir(os.path.join(photos_dir, root, class_name)) as entries:
        for entry in entries:
          if entry.name.startswith('.') or entry.is_dir():
            continue
          relative = root + class_name + '/' + entry.name
          problem = None if entry.is_file() else images.not_a_file(entry.path)
          if problem:
            not_files.append((relative, problem))
          else:
            photos.append((relative, class_ids[class_name]))
  photos.sort()
  return class_names, photos, sorted(not_files)


# What breaks labels.txt's one line per class or prints as nothing: control characters
# (newline, tab, ...) and the line and paragraph separators; and file-name bytes that are not
# UTF-8 (Python gives them as lone surrogates, which cannot be written as text).
_CONTROL = re.compile('[\x00-\x1f\x7f-\x9f\u2028\u2029]+')
_UNDECODABLE = re.compile('[\ud800-\udfff]')


MAX_LOGGED = 10  # class folders named one by one in the log; the rest only counted


def clean_class_name(folder):
  """The class name of a folder: each run of control characters becomes one space, each
  undecodable byte U+FFFD; a name that changed is stripped of spaces at its ends."""
  name = _UNDECODABLE.sub('\ufffd', _CONTROL.sub(' ', folder))
  return folder if name == folder else name.strip(' ')


def class_names_of(folders):
  """(class names, [{'folder', 'class_name', 'reason'}] for those that differ from their folder).
  A UserError when a cleaned name is empty or the same as another class's."""
  folders_of_names, renamed = {}, []
  for folder in folders:
    name = clean_class_name(folder)
    if name != folder:
      reason = ('control characters' if _CONTROL.search(folder) else
                'bytes that are not UTF-8')
      if len(renamed) < MAX_LOGGED:
        logging.warning('Class folder %r has %s, which labels.txt cannot hold; its class is '
                        'named %r.', folder, reason, name)
      renamed.append({'folder': folder, 'class_name': name, 'reason': reason})
    if not name:
      raise UserError('class folder %r has no printable character: rename it' % folder)
    if name in folders_of_names:
      raise UserError('class folders %r and %r both give the class name %r: rename one'
                      % (folders_of_names[name], folder, name))
    folders_of_names[name] = folder
  if len(renamed) > MAX_LOGGED:
    logging.warning('%d more class folders renamed likewise (all %d listed in manifest.json '
                    'under renamed_classes).', len(renamed) - MAX_LOGGED, len(renamed))
  return list(folders_of_names), renamed


def check_num_validation(num_validation, num_photos):
  """UserError unless 0 <= num_validation < num_photos (training needs at least one photo)."""
  if isinstance(num_validation, bool) or not isinstance(num_validation, int) \
      or num_validation < 0:
    raise UserError('num_validation must be a whole number >= 0, got %r' % (num_validation,))
  if num_validation >= num_photos:
    raise UserError('num_validation=%d leaves no training photos: there are only %d photos; '
                    'pass a smaller --num_validation (e.g. %d)'
                    % (num_validation, num_photos, num_photos // 5))


def validation_quotas(class_sizes, num_validation):
  """{class: validation photos} for {class: photos} (in the order that breaks ties).

  Classes of one photo get none (it goes to training), every other class keeps a training photo.
  When num_validation reaches the classes of two or more photos each of them gets at least one;
  otherwise the largest get one. The rest goes in proportion to size: num_validation * size /
  (photos of those classes), rounded down, then one more for the largest remainders (one less for
  the largest excesses when the minimum of one went over), until the total is num_validation.
  UserError when num_validation is over what the classes can give.
  """
  capacity = {c: n - 1 for c, n in class_sizes.items() if n >= 2}
  quotas = dict.fromkeys(class_sizes, 0)
  if not num_validation:
    return quotas
  if num_validation > sum(capacity.values()):
    raise UserError('num_validation=%d would leave a class without a training photo: with one '
                    'kept per class, at most %d of the %d photos can go to validation; pass a '
                    'smaller --num_validation' % (num_validation, sum(capacity.values()),
                                                  sum(class_sizes.values())))
  total = sum(class_sizes[c] for c in capacity)
  least = 1 if num_validation >= len(capacity) else 0
  target = {c: num_validation * class_sizes[c] / total for c in capacity}
  quotas.update({c: min(capacity[c], max(least, int(target[c]))) for c in capacity})
  left = num_validation - sum(quotas.values())
  step = 1 if left > 0 else -1
  # Up: one more to the largest remainder first (a class that can give one); down: one less to
  # the largest excess first (never below the minimum). Ties: the classes' order.
  heap = [(step * (quotas[c] - target[c]), i, c) for i, c in enumerate(capacity)
          if (quotas[c] < capacity[c] if step > 0 else quotas[c] > least)]
  heapq.heapify(heap)
  for _ in range(abs(left)):
    _, i, c = heapq.heappop(heap)
    quotas[c] += step
    if quotas[c] < capacity[c] if step > 0 else quotas[c] > least:
      heapq.heappush(heap, (step * (quotas[c] - target[c]), i, c))
  return quotas


def split_photos(photos, num_validation, seed=0):
  """{'train': [...], 'validation': [...]}, stratified (validation_quotas): the photos sorted and
  shuffled by seed, each class's validation photos the first of its photos in that order; both
  splits in that order."""
  check_num_validation(num_validation, len(photos))
  shuffled = sorted(photos)
  random.Random(seed).shuffle(shuffled)
  by_class = {}  # in the order of first appearance: the seeded order that breaks ties
  for item in shuffled:
    by_class.setdefault(item[1], []).append(item)
  quotas = validation_quotas({c: len(items) for c, items in by_class.items()}, num_validation)
  chosen = set(item for c, items in by_class.items() for item in items[:quotas[c]])
  return {'train': [item for item in shuffled if item not in chosen],
          'validation': [item for item in shuffled if item in chosen]}


def split_given(photos, folders, seed=0):
  """{'train': [...], 'validation': [...]}: the photos under folders['train'] and
  folders['validation'] (given_split_of), each split sorted and shuffled by seed."""
  shuffled = sorted(photos)
  random.Random(seed).shuffle(shuffled)
  return {split: [item for item in shuffled if item[0].startswith(folders[split] + '/')]
          for split in ('train', 'validation')}


def shard_ranges(num_items, num_shards):
  """num_shards (start, end) ranges covering range(num_items) evenly; some may be empty."""
  bounds = [num_items * i // num_shards for i in range(num_shards + 1)]
  return list(zip(bounds[:-1], bounds[1:]))


def photos_fingerprint(photos_dir):
  """SHA-256 over the sorted (relative path, size, modification time) of the photos: changes
  when files do (a photo edited in place at the same size too)."""
  photos = list_photos(photos_dir)[1]
  digest = hashlib.sha256()
  for relative, _ in photos:
    status = os.stat(os.path.join(photos_dir, relative))
    digest.update(('%s\t%d\t%d\n' % (relative, status.st_size, status.st_mtime_ns)).encode(
        'utf-8', 'surrogateescape'))
  return digest.hexdigest()


def photos_dir_source(photos_dir):
  """The manifest's description of a folder source."""
  return {'kind': 'photos_dir', 'path': os.path.abspath(photos_dir),
          'fingerprint': photos_fingerprint(photos_dir)}


# --- checking photos in worker processes ------------------------------------------------------

def default_num_workers():
  if hasattr(os, 'sched_getaffinity'):
    return max(1, len(os.sched_getaffinity(0)))
  return max(1, os.cpu_count() or 1)


def workers_or_all_cores(num_workers):
  """num_workers as the converter's flag means it: None or 0 is one worker per core."""
  return num_workers or default_num_workers()


def worker_pool(num_workers):
  """The processes that check photos. Started with 'spawn', never forked from a process running
  TensorFlow; they ignore Ctrl-C, which the parent handles."""
  return concurrent.futures.ProcessPoolExecutor(
      max_workers=num_workers, mp_context=multiprocessing.get_context('spawn'),
      initializer=images.init_worker)


def map_in_workers(fn, chunks, num_workers, died):
  """Yields fn(chunk) for each chunk, in order, computed by num_workers worker processes; at
  most a few chunks per worker run ahead of the consumer. fn must be picklable (a module-level
  function, or a functools.partial of one). died: the UserError's message when a worker process
  dies."""
  chunks = iter(chunks)
  executor = worker_pool(num_workers)
  try:
    pending = collections.deque(
        executor.submit(fn, chunk) for chunk in itertools.islice(chunks, num_workers * 4))
    while pending:
      try:
        result = pending.popleft().result()
      except concurrent.futures.process.BrokenProcessPool as e:
        raise UserError(died) from e
      chunk = next(chunks, None)
      if chunk is not None:
        pending.append(executor.submit(fn, chunk))
      yield result
  finally:
    executor.shutdown(wait=True, cancel_futures=True)


def checked_images(paths, max_pixels, num_workers):
  """Yields images.check_image(path) for each path, in order, computed by num_workers processes
  (in this process when 1)."""
  num_workers = max(1, num_workers)
  chunksize = max(1, min(32, len(paths) // (num_workers * 16)))
  if num_workers <= 1 or len(paths) <= chunksize:
    for path in paths:
      yield images.check_image(path, max_pixels)
    return
  chunks = [paths[i:i + chunksize] for i in range(0, len(paths), chunksize)]
  checked = map_in_workers(
      functools.partial(images.check_images, max_pixels=max_pixels), chunks, num_workers,
      'a photo-checking worker process died (out of memory?): rerun with --num_workers=1 or '
      'a smaller --max_pixels')
  for results in checked:
    yield from results


def draw_synthetic(photos_dir, per_class, seed, num_workers):
  """Draws `per_class` synthetic photos per class into photos_dir (synthetic_flowers.generate),
  in num_workers processes (this one when 1, or when there are at most 4 chunks per worker:
  starting the processes would cost more). Returns their paths relative to photos_dir."""
  map_chunks = None
  pictures = per_class * len(synthetic_flowers.CLASS_NAMES)
  if num_workers > 1 and pictures > 4 * num_workers * synthetic_flowers.CHUNK:
    map_chunks = functools.partial(
        map_in_workers, num_workers=num_workers,
        died='a worker process drawing synthetic photos died (out of memory?): rerun with '
        '--num_workers=1')
  return synthetic_flowers.generate(photos_dir, per_class, seed=seed, map_chunks=map_chunks)
