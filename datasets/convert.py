"""Converts a folder of class folders of photos into sharded TFRecords, labels.txt and a manifest.

    photos_dir/<class>/<photo>  ->  dataset_dir/<name>_{train,validation}_NNNNN-of-NNNNN.tfrecord
                                    dataset_dir/labels.txt       (id:class, ids by sorted name)
                                    dataset_dir/manifest.json    (written last: the completion mark)

The split is reproducible: the file list is sorted, shuffled with random.Random(seed) and the
first num_validation photos are the validation split (so it never depends on file-system order).
The split is made on the file list, before the photos are checked: a photo that is skipped
(unreadable, over the pixel limit) leaves its split one smaller, and never moves another photo.
Every split always gets exactly num_shards files, the photos spread evenly (a shard may be empty
when a split has fewer photos than shards); the records of a split are in its shuffled order.

Photos are checked and re-encoded where needed (datasets.images) in worker processes; this
process writes the records in order. Each shard is written under a temporary name and renamed;
manifest.json is written last, so an output without it (or whose files do not match it) is
never taken for complete: it is removed and rebuilt. One dataset per dataset_dir.
Nothing here reads flags.
"""
import collections
import concurrent.futures
import datetime
import glob
import hashlib
import itertools
import multiprocessing
import os
import random
import re
import shutil
import time
import urllib.parse

from absl import logging

import base
from datasets import dataset_utils
from datasets import images
from base import UserError

FORMAT_VERSION = 1
SPLITS = ('train', 'validation')
IMAGE_FORMAT = 'jpeg'
LOG_EVERY_SECS = 2.0
WORK_DIRNAME = '.work'  # Inside dataset_dir: extracted or generated photos while converting.
MAX_LISTED = 10  # Skipped photos etc. logged one by one; the rest only counted.
_VALID_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$')


# --- the photo list and the split -------------------------------------------------------------

def list_photos(photos_dir):
  """(class names sorted, [(relative_path, class_id)] sorted) for photos_dir/<class>/<file>.

  Hidden folders and files (starting with '.') are ignored, as are files directly in photos_dir
  and folders inside class folders. Files of any extension are listed: they are checked later.
  """
  if not os.path.isdir(photos_dir):
    raise UserError('photos folder %s does not exist: give a folder of class folders '
                    '(<dir>/<class>/<photo>)' % photos_dir)
  class_names = sorted(name for name in os.listdir(photos_dir)
                       if not name.startswith('.')
                       and os.path.isdir(os.path.join(photos_dir, name)))
  if not class_names:
    raise UserError('%s has no class folders: expected %s/<class>/<photo>'
                    % (photos_dir, photos_dir))
  photos = []
  for class_id, class_name in enumerate(class_names):
    class_dir = os.path.join(photos_dir, class_name)
    for name in os.listdir(class_dir):
      if not name.startswith('.') and os.path.isfile(os.path.join(class_dir, name)):
        photos.append((class_name + '/' + name, class_id))
  photos.sort()
  return class_names, photos


def check_num_validation(num_validation, num_photos):
  """UserError unless 0 <= num_validation < num_photos (training needs at least one photo)."""
  if isinstance(num_validation, bool) or not isinstance(num_validation, int) \
      or num_validation < 0:
    raise UserError('num_validation must be a whole number >= 0, got %r' % (num_validation,))
  if num_validation >= num_photos:
    raise UserError('num_validation=%d leaves no training photos: there are only %d photos; '
                    'pass a smaller --num_validation (e.g. %d)'
                    % (num_validation, num_photos, num_photos // 5))


def split_photos(photos, num_validation, seed=0):
  """{'train': [...], 'validation': [...]}: sorted, shuffled by seed, validation taken first."""
  check_num_validation(num_validation, len(photos))
  shuffled = sorted(photos)
  random.Random(seed).shuffle(shuffled)
  return {'train': shuffled[num_validation:], 'validation': shuffled[:num_validation]}


def shard_ranges(num_items, num_shards):
  """num_shards (start, end) ranges covering range(num_items) evenly; some may be empty."""
  bounds = [num_items * i // num_shards for i in range(num_shards + 1)]
  return list(zip(bounds[:-1], bounds[1:]))


def photos_fingerprint(photos_dir):
  """SHA-256 over the sorted (relative path, size) of the photos: changes when files do."""
  _, photos = list_photos(photos_dir)
  digest = hashlib.sha256()
  for relative, _ in photos:
    size = os.path.getsize(os.path.join(photos_dir, relative))
    digest.update(('%s\t%d\n' % (relative, size)).encode('utf-8'))
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


def checked_images(paths, max_pixels, num_workers):
  """Yields images.check_image(path) for each path, in order, computed by num_workers processes
  (in this process when 1). At most a few chunks per worker run ahead of the consumer."""
  num_workers = max(1, num_workers)
  chunksize = max(1, min(32, len(paths) // (num_workers * 16)))
  if num_workers <= 1 or len(paths) <= chunksize:
    for path in paths:
      yield images.check_image(path, max_pixels)
    return
  chunks = iter([paths[i:i + chunksize] for i in range(0, len(paths), chunksize)])
  executor = concurrent.futures.ProcessPoolExecutor(
      max_workers=num_workers, mp_context=multiprocessing.get_context('spawn'),
      initializer=images.init_worker)
  try:
    pending = collections.deque(
        executor.submit(images.check_images, chunk, max_pixels)
        for chunk in itertools.islice(chunks, num_workers * 4))
    while pending:
      try:
        results = pending.popleft().result()
      except concurrent.futures.process.BrokenProcessPool as e:
        raise UserError('a photo-checking worker process died (out of memory?): rerun with '
                        '--num_workers=1 or a smaller --max_pixels') from e
      chunk = next(chunks, None)
      if chunk is not None:
        pending.append(executor.submit(images.check_images, chunk, max_pixels))
      for result in results:
        yield result
  finally:
    executor.shutdown(wait=True, cancel_futures=True)


# --- writing ----------------------------------------------------------------------------------

def _write_shard(path, items, results, progress, report):
  """Writes one shard from (relative_path, class_id) items, calling progress() after each;
  returns the class ids written."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  labels = []
  with base.atomic_path(path) as tmp:
    with tf.io.TFRecordWriter(tmp) as writer:
      for relative, class_id in items:
        result = next(results)
        progress()
        if not result.ok:
          report['skipped'].append({'file': relative, 'reason': result.skipped})
          if len(report['skipped']) <= MAX_LISTED:
            logging.warning('Skipping %s: %s', relative, result.skipped)
          continue
        if result.reencoded:
          report['reencoded'].append({'file': relative, 'reason': result.reencoded})
        example = dataset_utils.image_to_tfexample(result.data, IMAGE_FORMAT, result.height,
                                                   result.width, class_id, relative)
        writer.write(example.SerializeToString())
        labels.append(class_id)
  return labels


def _write_split(dataset_dir, dataset_name, split, items, num_shards, class_names, results,
                 progress, report):
  """Writes num_shards shards of one split; returns its manifest entry."""
  shards = []
  per_class = collections.Counter()
  for shard_id, (start, end) in enumerate(shard_ranges(len(items), num_shards)):
    path = dataset_utils.shard_filename(dataset_dir, dataset_name, split, shard_id, num_shards)
    labels = _write_shard(path, items[start:end], results, progress, report)
    per_class.update(labels)
    shards.append({'file': os.path.basename(path), 'num_records': len(labels),
                   'bytes': os.path.getsize(path)})
  return {'num_samples': sum(per_class.values()), 'num_shards': num_shards,
          'per_class': {name: per_class[i] for i, name in enumerate(class_names)},
          'shards': shards}


def _temp_files(dataset_dir, dataset_name):
  """Temporary files of an interrupted run (base.atomic_path names)."""
  prefixes = ('.%s_' % dataset_name, '.%s.' % dataset_utils.MANIFEST_FILENAME,
              '.%s.' % dataset_utils.LABELS_FILENAME)
  return sorted(os.path.join(dataset_dir, name) for name in os.listdir(dataset_dir)
                if name.startswith(prefixes) and name.endswith('.tmp'))


def _shard_files(dataset_dir, dataset_name, split):
  return sorted(glob.glob(os.path.join(dataset_dir,
                                       dataset_utils.shard_glob(dataset_name, split))))


def remove_outputs(dataset_dir, dataset_name):
  """Removes manifest.json (first), the dataset's shards and leftover temporary files."""
  paths = [os.path.join(dataset_dir, dataset_utils.MANIFEST_FILENAME)]
  for split in SPLITS:
    paths += _shard_files(dataset_dir, dataset_name, split)
  paths += _temp_files(dataset_dir, dataset_name)
  removed = 0
  for path in paths:
    if os.path.lexists(path):
      os.remove(path)
      removed += 1
  if removed:
    logging.info('Removed %d files of an earlier %s conversion in %s.', removed, dataset_name,
                 dataset_dir)


def _validate_settings(dataset_name, num_shards, max_pixels, num_workers=None):
  if num_workers is not None and (isinstance(num_workers, bool)
                                  or not isinstance(num_workers, int) or num_workers < 0):
    raise UserError('num_workers must be a whole number >= 0 (0: all cores), got %r'
                    % (num_workers,))
  if not isinstance(dataset_name, str) or not _VALID_NAME.match(dataset_name):
    raise UserError('dataset name %r is not usable in file names: use letters, digits, '
                    '".", "-" and single "_" (e.g. flowers)' % (dataset_name,))
  for name, value in (('num_shards', num_shards), ('max_pixels', max_pixels)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise UserError('%s must be a whole number >= 1, got %r' % (name, value))


def _utc_now():
  return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _complete_output(dataset_dir, dataset_name, num_shards, num_validation, seed, source,
                     max_pixels, overwrite):
  """(the manifest of a complete output made with these settings, or None, and why not)."""
  if overwrite:
    return None, '--overwrite'
  done, why = up_to_date(dataset_dir, dataset_name, num_shards, num_validation, seed, source,
                         max_pixels)
  if not done:
    return None, why
  logging.info('%s already holds a complete %s conversion with these settings; nothing to do '
               '(use --overwrite to rebuild it).', dataset_dir, dataset_name)
  return dataset_utils.read_manifest(dataset_dir), ''


def convert_photos(photos_dir, dataset_dir, dataset_name='flowers', num_validation=350,
                   num_shards=5, seed=0, num_workers=None, source=None, flags=None,
                   overwrite=False, refused_members=None, progress=None,
                   max_pixels=images.DEFAULT_MAX_PIXELS):
  """Converts photos_dir/<class>/<photo> into shards, labels.txt and manifest.json.

  Returns the manifest. When dataset_dir already holds a complete conversion with the same
  settings (and overwrite is False) nothing is written and its manifest is returned.
  source: a dict describing where the photos came from (default: the folder and a fingerprint of
  its files); flags: a dict recorded as given; refused_members: [(archive member, reason)].
  num_workers: processes decoding photos (None or 0: all cores; 1: in this process). They are
  started with 'spawn' (never forked from a process running TensorFlow), so a script calling
  this must guard its entry point with `if __name__ == '__main__':`. progress(done, total) is
  called after each photo. Raises UserError for unusable arguments or photos_dir.
  """
  _validate_settings(dataset_name, num_shards, max_pixels, num_workers)
  class_names, photos = list_photos(photos_dir)
  splits = split_photos(photos, num_validation, seed)
  if source is None:
    source = photos_dir_source(photos_dir)
  os.makedirs(dataset_dir, exist_ok=True)
  manifest, why = _complete_output(dataset_dir, dataset_name, num_shards, num_validation, seed,
                                   source, max_pixels, overwrite)
  if manifest:
    return manifest
  logging.info('Converting into %s: %s.', dataset_dir, why)
  remove_outputs(dataset_dir, dataset_name)
  for class_id, name in enumerate(class_names):
    if not any(label == class_id for _, label in photos):
      logging.warning('Class folder %s has no files.', os.path.join(photos_dir, name))

  import tensorflow as tf  # pylint: disable=g-import-not-at-top,unused-import
  # (Imported before the clock starts; worker processes never import it.)
  num_workers = num_workers or default_num_workers()
  order = [(split, item) for split in SPLITS for item in splits[split]]
  paths = [os.path.join(photos_dir, relative) for _, (relative, _) in order]
  logging.info('Converting %d photos of %d classes from %s with %d worker(s).', len(photos),
               len(class_names), photos_dir, num_workers)
  started = time.monotonic()
  tracker = base.Progress(len(paths))

  def tick():
    tracker.advance()
    if progress is not None:
      progress(tracker.done, tracker.total)
    if tracker.due(LOG_EVERY_SECS):
      logging.info('Converting: %s', tracker.line())

  report = {'skipped': [], 'reencoded': []}
  results = checked_images(paths, max_pixels, num_workers)
  try:
    split_entries = {}
    for split in SPLITS:
      split_entries[split] = _write_split(dataset_dir, dataset_name, split, splits[split],
                                          num_shards, class_names, results, tick, report)
  finally:
    results.close()
  elapsed = time.monotonic() - started
  logging.info('Converted %d photos in %.1f s (%.1f images/s): %d skipped, %d re-encoded.',
               len(paths), elapsed, len(paths) / max(elapsed, 1e-9), len(report['skipped']),
               len(report['reencoded']))

  dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
  manifest = {
      'format_version': FORMAT_VERSION,
      'dataset_name': dataset_name,
      'class_names': list(class_names),
      'num_classes': len(class_names),
      'splits': split_entries,
      'source': dict(source),
      'flags': dict(flags or {}),
      'seed': seed,
      'num_validation': num_validation,
      'max_pixels': max_pixels,
      'skipped': report['skipped'],
      'reencoded': report['reencoded'],
      'refused_members': [{'member': member, 'reason': reason}
                          for member, reason in (refused_members or [])],
      'created': _utc_now(),
  }
  dataset_utils.write_manifest(dataset_dir, manifest)
  return manifest


# --- is an existing output complete? ----------------------------------------------------------

def _structure_problems(dataset_dir, dataset_name, manifest):
  """Everything about the files that does not match the manifest (no record is read)."""
  problems = []
  if manifest.get('format_version') != FORMAT_VERSION:
    return ['manifest.json has format_version %r, expected %d'
            % (manifest.get('format_version'), FORMAT_VERSION)]
  if manifest.get('dataset_name') != dataset_name:
    return ['manifest.json describes dataset %r, not %r'
            % (manifest.get('dataset_name'), dataset_name)]
  try:
    class_names = list(manifest['class_names'])
    listed = set()
    for split in SPLITS:
      for shard in manifest['splits'][split]['shards']:
        listed.add(shard['file'])
        path = os.path.join(dataset_dir, shard['file'])
        if not os.path.isfile(path):
          problems.append('shard %s is missing' % shard['file'])
        elif os.path.getsize(path) != shard['bytes']:
          problems.append('shard %s has %d bytes, manifest.json says %d'
                          % (shard['file'], os.path.getsize(path), shard['bytes']))
  except (KeyError, TypeError, ValueError) as e:
    return ['manifest.json is malformed (%s: %s)' % (type(e).__name__, e)]
  for split in SPLITS:
    for path in _shard_files(dataset_dir, dataset_name, split):
      if os.path.basename(path) not in listed:
        problems.append('extra shard %s is not in manifest.json (left by an earlier run?)'
                        % os.path.basename(path))
  for path in _temp_files(dataset_dir, dataset_name):
    problems.append('temporary file %s left by an interrupted run' % os.path.basename(path))
  if not dataset_utils.has_labels(dataset_dir):
    problems.append('%s is missing' % dataset_utils.LABELS_FILENAME)
  else:
    try:
      labels = dataset_utils.read_label_file(dataset_dir)
    except UserError as e:
      labels = str(e)
    if labels != dict(enumerate(class_names)):
      problems.append('%s does not match the class names in manifest.json'
                      % dataset_utils.LABELS_FILENAME)
  return problems


def check_complete(dataset_dir, dataset_name='flowers'):
  """(True, '') when dataset_dir holds a complete conversion, else (False, first problem)."""
  manifest = dataset_utils.read_manifest(dataset_dir)
  if manifest is None:
    return False, 'no readable %s in %s' % (dataset_utils.MANIFEST_FILENAME, dataset_dir)
  problems = _structure_problems(dataset_dir, dataset_name, manifest)
  if problems:
    return False, problems[0]
  return True, ''


def _same_source(old, new):
  """Same photos? Compares SHA-256 when both know it, else kind and location."""
  if new is None:
    return True
  if not isinstance(old, dict):
    return False
  if old.get('sha256') and new.get('sha256'):
    return old['sha256'] == new['sha256']
  keys = ('kind', 'url', 'location', 'path', 'fingerprint', 'images_per_class')
  return all(old.get(key) == new.get(key) for key in keys)


def settings_changes(manifest, num_shards, num_validation, seed, source=None,
                     max_pixels=images.DEFAULT_MAX_PIXELS):
  """What differs between the requested settings and a manifest's, as 'name old -> new' strings."""
  old_shards = sorted(set(manifest['splits'][split]['num_shards'] for split in SPLITS))
  old_shards = old_shards[0] if len(old_shards) == 1 else old_shards
  changes = []
  for name, old, new in (('num_shards', old_shards, num_shards),
                         ('num_validation', manifest.get('num_validation'), num_validation),
                         ('seed', manifest.get('seed'), seed),
                         ('max_pixels', manifest.get('max_pixels'), max_pixels)):
    if old != new:
      changes.append('%s %s -> %s' % (name, old, new))
  if not _same_source(manifest.get('source'), source):
    changes.append('the source photos differ')
  return changes


def up_to_date(dataset_dir, dataset_name, num_shards, num_validation, seed, source=None,
               max_pixels=images.DEFAULT_MAX_PIXELS):
  """(True, '') when dataset_dir is complete and made with these settings, else (False, why)."""
  if not os.path.isdir(dataset_dir):
    return False, 'no output yet'
  ok, problem = check_complete(dataset_dir, dataset_name)
  if not ok:
    return False, problem
  changes = settings_changes(dataset_utils.read_manifest(dataset_dir), num_shards,
                             num_validation, seed, source, max_pixels)
  if changes:
    return False, 'settings changed (%s)' % ', '.join(changes)
  return True, ''


# --- verifying the records --------------------------------------------------------------------

class _JpegChecker(object):
  """Decodes JPEG bytes with tf.io.decode_jpeg(channels=3) in its own graph (works whether or
  not eager execution is enabled)."""

  def __init__(self):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    self._tf = tf
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._data = tf.compat.v1.placeholder(tf.string, [])
      self._shape = tf.shape(tf.io.decode_jpeg(self._data, channels=3))
    self._session = tf.compat.v1.Session(graph=self._graph)

  def shape(self, data):
    """[height, width, 3], or None when the bytes do not decode."""
    try:
      return list(self._session.run(self._shape, {self._data: data}))
    except self._tf.errors.InvalidArgumentError:
      return None

  def close(self):
    self._session.close()


def _feature(example, key, kind):
  values = getattr(example.features.feature[key], kind).value
  return values[0] if len(values) == 1 else None


def _corrupt_problem(name, good_records, error):
  return '%s is corrupt after %d good records: %s' % (
      name, good_records, error.message.splitlines()[0] if error.message else error)


def corrupt_shards(paths):
  """Reads every record of each TFRecord file, checking only lengths and CRCs (no decoding);
  returns [(path, problem)] for the files that do not read back whole (flipped bytes, cut)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  found = []
  for path in paths:
    good = 0
    try:
      for _ in tf.compat.v1.io.tf_record_iterator(path):
        good += 1
    except tf.errors.DataLossError as e:
      found.append((path, _corrupt_problem(os.path.basename(path), good, e)))
  return found


def damaged_shards_error(paths, dataset_dir, dataset_name='flowers'):
  """After a tf.errors.DataLossError while reading `paths`: a UserError naming the damaged shards
  and what to do, or None when every shard reads back whole (the error came from elsewhere)."""
  damaged = corrupt_shards(paths)
  if not damaged:
    return None
  name_flag = '' if dataset_name == 'flowers' else ' --dataset_name=%s' % dataset_name
  return UserError('damaged data: %s; check every shard with download_and_convert_flowers.py '
                   '--verify --dataset_dir=%s%s, then rerun its conversion with --overwrite'
                   % ('; '.join(problem for _, problem in damaged), dataset_dir, name_flag))


def _verify_shard(path, checker, num_classes, problems):
  """Reads every record of a shard; returns the labels read (a problem stops at that record)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  name = os.path.basename(path)
  labels = []
  bad = 0
  try:
    for index, record in enumerate(tf.compat.v1.io.tf_record_iterator(path)):
      example = tf.train.Example.FromString(record)
      label = _feature(example, 'image/class/label', 'int64_list')
      height = _feature(example, 'image/height', 'int64_list')
      width = _feature(example, 'image/width', 'int64_list')
      data = _feature(example, 'image/encoded', 'bytes_list')
      problem = None
      if label is None or not 0 <= label < num_classes:
        problem = 'label %r is not a class id' % (label,)
      elif data is None or _feature(example, 'image/format', 'bytes_list') != b'jpeg':
        problem = 'no JPEG image'
      else:
        shape = checker.shape(data)
        if shape is None:
          problem = 'image does not decode with tf.io.decode_jpeg'
        elif shape != [height, width, 3]:
          problem = 'image is %dx%d, the record says %sx%s' % (shape[0], shape[1], height, width)
      if problem is not None:
        bad += 1
        if bad <= MAX_LISTED:
          filename = _feature(example, 'image/filename', 'bytes_list') or b'?'
          problems.append('%s record %d (%s): %s'
                          % (name, index, filename.decode('utf-8', 'replace'), problem))
      labels.append(label)
  except tf.errors.DataLossError as e:
    problems.append(_corrupt_problem(name, len(labels), e))
  if bad > MAX_LISTED:
    problems.append('%s: %d more bad records' % (name, bad - MAX_LISTED))
  return labels


def verify_dataset(dataset_dir, dataset_name='flowers'):
  """Reads every record: CRCs, JPEG decoding and size, counts per shard/split/class against the
  manifest. Returns a list of problems, each naming its file; empty when all is well."""
  if not os.path.isdir(dataset_dir):
    raise UserError('dataset folder %s does not exist: give the --dataset_dir of a conversion'
                    % dataset_dir)
  manifest = dataset_utils.read_manifest(dataset_dir)
  if manifest is None:
    return ['no readable %s in %s (the conversion never finished): rerun the conversion'
            % (dataset_utils.MANIFEST_FILENAME, dataset_dir)]
  problems = _structure_problems(dataset_dir, dataset_name, manifest)
  if any(p.startswith('manifest.json') for p in problems):
    return problems
  class_names = manifest['class_names']
  checker = _JpegChecker()
  try:
    for split in SPLITS:
      entry = manifest['splits'][split]
      per_class = collections.Counter()
      known = len(problems)
      for shard in entry['shards']:
        path = os.path.join(dataset_dir, shard['file'])
        if not os.path.isfile(path):
          continue  # Already reported.
        logging.info('Verifying %s', shard['file'])
        labels = _verify_shard(path, checker, len(class_names), problems)
        if len(labels) != shard['num_records']:
          problems.append('%s has %d records, manifest.json says %d'
                          % (shard['file'], len(labels), shard['num_records']))
        per_class.update(labels)
      if len(problems) > known:
        continue  # The split's totals would only repeat what its shards' problems say.
      counts = {name: per_class[i] for i, name in enumerate(class_names)}
      if counts != entry.get('per_class', counts):
        problems.append('%s split: records per class %s, manifest.json says %s'
                        % (split, counts, entry['per_class']))
      if sum(per_class.values()) != entry['num_samples']:
        problems.append('%s split: %d records, manifest.json says %d'
                        % (split, sum(per_class.values()), entry['num_samples']))
  finally:
    checker.close()
  return problems


# --- the final summary ------------------------------------------------------------------------

def _grouped(entries, key='reason'):
  counts = collections.Counter(images.reason_group(entry[key]) for entry in entries)
  return ', '.join('%s: %d' % item for item in sorted(counts.items()))


def summary_text(manifest, dataset_dir):
  """A few lines for the user: images per split and class, what was skipped or re-encoded,
  where the files are."""
  class_names = manifest['class_names']
  splits = manifest['splits']
  total = sum(splits[split]['num_samples'] for split in SPLITS)
  width = max([len('class')] + [len(name) for name in class_names])
  lines = ['Dataset %r: %d images of %d classes in %s'
           % (manifest['dataset_name'], total, len(class_names), os.path.abspath(dataset_dir)),
           '  %-*s %8s %11s' % (width, 'class', 'train', 'validation')]
  for name in class_names:
    lines.append('  %-*s %8d %11d' % (width, name, splits['train']['per_class'].get(name, 0),
                                     splits['validation']['per_class'].get(name, 0)))
  lines.append('  %-*s %8d %11d' % (width, 'total', splits['train']['num_samples'],
                                   splits['validation']['num_samples']))
  size = sum(shard['bytes'] for split in SPLITS for shard in splits[split]['shards'])
  num_shards = splits['train']['num_shards']
  lines.append('Files: %s_{train,validation}_NNNNN-of-%05d.tfrecord (%d shards, %.1f MB), '
               '%s, %s' % (manifest['dataset_name'], num_shards,
                           sum(len(splits[split]['shards']) for split in SPLITS),
                           size / 1e6, dataset_utils.LABELS_FILENAME,
                           dataset_utils.MANIFEST_FILENAME))
  for key, title in (('reencoded', 'Re-encoded as RGB JPEG'), ('skipped', 'Skipped photos')):
    entries = manifest.get(key, [])
    if entries:
      lines.append('%s: %d (%s); listed in %s' % (title, len(entries), _grouped(entries),
                                                  dataset_utils.MANIFEST_FILENAME))
  refused = manifest.get('refused_members', [])
  if refused:
    lines.append('Archive members not extracted: %d (%s); listed in %s'
                 % (len(refused), _grouped(refused), dataset_utils.MANIFEST_FILENAME))
  return '\n'.join(lines)


# --- from a source to a dataset ---------------------------------------------------------------

def _is_remote(location):
  return urllib.parse.urlsplit(location).scheme.lower() in ('http', 'https')


def _check_sources(archive, photos_dir, synthetic, sha256):
  given = [name for name, value in (('--archive', archive), ('--photos_dir', photos_dir),
                                    ('--synthetic', synthetic)) if value]
  if len(given) > 1:
    raise UserError('%s are alternatives: give only one source of photos' % ' and '.join(given))
  if isinstance(synthetic, bool) or not isinstance(synthetic, int) or synthetic < 0:
    raise UserError('--synthetic must be a whole number of photos per class, got %r'
                    % (synthetic,))
  if sha256 and (photos_dir or synthetic):
    raise UserError('--sha256 checks an archive: use it with --archive or the default download')


def _remove_tree(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path)


def _describe_source(dataset_dir, archive, sha256, photos_dir, synthetic, seed):
  """(source dict, local archive path or None) before any download or extraction."""
  from datasets import download  # pylint: disable=g-import-not-at-top
  if photos_dir:
    return photos_dir_source(photos_dir), None
  if synthetic:
    return {'kind': 'synthetic', 'images_per_class': synthetic, 'seed': seed}, None
  if not archive:
    return {'kind': 'download', 'url': download.FLOWERS_URL,
            'sha256': (sha256 or download.FLOWERS_SHA256).lower(),
            'size': None if sha256 else download.FLOWERS_SIZE}, None
  if _is_remote(archive):
    return {'kind': 'archive', 'url': archive, 'sha256': sha256 and sha256.lower()}, None
  local = download.fetch(archive, dataset_dir, expected_sha256=sha256)  # Verified in place.
  if os.path.isdir(local):
    return photos_dir_source(local), local
  return {'kind': 'archive', 'location': archive,
          'sha256': sha256.lower() if sha256 else download.sha256_of_file(local)}, local


def download_and_convert(dataset_dir, archive=None, sha256=None, photos_dir=None, synthetic=0,
                         dataset_name='flowers', num_validation=350, num_shards=5, seed=0,
                         num_workers=None, overwrite=False, cleanup=True,
                         max_pixels=images.DEFAULT_MAX_PIXELS, flags=None):
  """Gets the photos from one source and converts them into dataset_dir; returns the manifest.

  Sources (at most one): archive (path, file://, http(s) URL of a .tgz/.tar/.zip), photos_dir
  (a folder of class folders), synthetic (photos per class, drawn with `seed`); by default the
  official Flowers archive is downloaded into dataset_dir and checked against its size and
  SHA-256 (or `sha256`). Archives are extracted, synthetic photos drawn, under
  dataset_dir/.work; with cleanup that folder and a downloaded archive are removed afterwards.
  Nothing is fetched when dataset_dir is already complete with the same settings.
  """
  _check_sources(archive, photos_dir, synthetic, sha256)
  _validate_settings(dataset_name, num_shards, max_pixels, num_workers)
  if os.path.exists(dataset_dir) and not os.path.isdir(dataset_dir):
    raise UserError('--dataset_dir %s is a file: give a folder for the dataset' % dataset_dir)
  if photos_dir and not os.path.isdir(photos_dir):
    raise UserError('--photos_dir %s is not a folder: give a folder of class folders'
                    % photos_dir)
  if synthetic:
    from datasets import synthetic_flowers  # pylint: disable=g-import-not-at-top
    check_num_validation(num_validation, synthetic * len(synthetic_flowers.CLASS_NAMES))
  source, local_archive = _describe_source(dataset_dir, archive, sha256, photos_dir, synthetic,
                                           seed)
  os.makedirs(dataset_dir, exist_ok=True)
  manifest, why = _complete_output(dataset_dir, dataset_name, num_shards, num_validation, seed,
                                   source, max_pixels, overwrite)
  if manifest:
    return manifest
  logging.info('Building %s in %s: %s.', dataset_name, dataset_dir, why)

  work_dir = os.path.join(dataset_dir, WORK_DIRNAME)
  _remove_tree(work_dir)
  downloaded = None
  refused = []
  try:
    if source['kind'] == 'photos_dir':
      photos = photos_dir or local_archive
    elif source['kind'] == 'synthetic':
      from datasets import synthetic_flowers  # pylint: disable=g-import-not-at-top
      photos = os.path.join(work_dir, 'synthetic')
      logging.info('Drawing %d synthetic photos per class into %s.', synthetic, photos)
      synthetic_flowers.generate(photos, synthetic, seed=seed)
    else:
      from datasets import archive as archive_lib  # pylint: disable=g-import-not-at-top
      from datasets import download  # pylint: disable=g-import-not-at-top
      if local_archive is None:
        local_archive = downloaded = download.fetch(
            source['url'], dataset_dir, expected_sha256=source['sha256'],
            expected_size=source.get('size'))
        if not source['sha256']:
          source['sha256'] = download.sha256_of_file(downloaded)
      extracted = archive_lib.safe_extract(local_archive, work_dir)
      photos, refused = extracted.root, extracted.refused
    manifest = convert_photos(photos, dataset_dir, dataset_name=dataset_name,
                              num_validation=num_validation, num_shards=num_shards, seed=seed,
                              num_workers=num_workers, source=source, flags=flags,
                              overwrite=True, refused_members=refused, max_pixels=max_pixels)
  finally:
    if cleanup:
      _remove_tree(work_dir)
  if downloaded and cleanup:
    os.remove(downloaded)
    logging.info('Removed the downloaded %s (--nocleanup keeps it).', downloaded)
  elif downloaded or os.path.isdir(work_dir):
    logging.info('Kept %s (--cleanup removes them).',
                 ' and '.join(p for p in (downloaded, work_dir) if p and os.path.exists(p)))
  return manifest
