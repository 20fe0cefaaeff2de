"""Converts a folder of class folders of photos into sharded TFRecords, labels.txt and a manifest.

    photos_dir/<class>/<photo>  ->  dataset_dir/<name>_{train,validation}_NNNNN-of-NNNNN.tfrecord
                                    dataset_dir/labels.txt       (id:class, ids by sorted name)
                                    dataset_dir/manifest.json    (written last: the completion mark)

The split (datasets/convert/photos.py) is made on the file list, before the photos are checked: a
photo that is skipped (unreadable, over the pixel limit) leaves its split one smaller, and never
moves another photo. Every split always gets exactly num_shards files, the photos spread evenly (a
shard may be empty when a split has fewer photos than shards); the records of a split are in its
shuffled order.

Photos are checked and re-encoded where needed (datasets/images.py) in worker processes; this
process writes the records in order. The new output is written into dataset_dir/.staging and
swapped in only when complete (datasets/convert/staging.py), so an earlier output stays usable until
then and survives a failure. manifest.json is moved in last, so an output without it (or whose
files do not match it, datasets/checks.py) is never taken for complete: it is rebuilt. One
dataset per dataset_dir. Nothing here reads flags.
"""
import collections
import datetime
import errno
import os
import re
import shutil
import time

from absl import logging

import base
from base import UserError
from datasets import checks
from datasets import dataset_utils
from datasets import images
from datasets import records
from datasets.convert import class_report
from datasets.convert import photos as photos_lib
from datasets.convert import staging

SPLITS = dataset_utils.SPLITS
LOG_EVERY_SECS = 2.0
MAX_LOGGED = 10  # Skipped photos logged one by one; the rest only counted (all in the manifest).
_VALID_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$')


# --- settings and earlier outputs -------------------------------------------------------------

def validate_settings(dataset_name, num_shards, max_pixels, num_workers=None):
  """UserError for settings no conversion can use, before anything is read or written."""
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


def complete_output(dataset_dir, dataset_name, num_shards, num_validation, seed, source,
                    max_pixels, overwrite, split=None):
  """(the manifest of a complete output made with these settings, or None, and why not).
  Finishes the swap of an interrupted conversion, or removes its staging folder, first.
  split: 'stratified' or 'given' when the photos are known to come so, None when not known
  before they are fetched (settings_changes)."""
  staging.recover(dataset_dir, dataset_name)  # A swap a killed run began is finished first.
  other = (dataset_utils.read_manifest(dataset_dir) or {}).get('dataset_name', dataset_name)
  if other != dataset_name:  # its labels.txt would become this one's, under its shards
    raise UserError('%s holds the dataset %s (its %s): one dataset per folder; convert %s into '
                    'another --dataset_dir' % (dataset_dir, other,
                                               dataset_utils.MANIFEST_FILENAME, dataset_name))
  if overwrite:
    return None, '--overwrite'
  done, why = up_to_date(dataset_dir, dataset_name, num_shards, num_validation, seed, source,
                         max_pixels, split)
  if not done:
    return None, why
  logging.info('%s already holds a complete %s conversion with these settings; nothing to do '
               '(use --overwrite to rebuild it).', dataset_dir, dataset_name)
  return dataset_utils.read_manifest(dataset_dir), ''


# --- writing ----------------------------------------------------------------------------------

def _report_skipped(report, relative, reason):
  report['skipped'].append({'file': relative, 'reason': reason})
  if len(report['skipped']) <= MAX_LOGGED:
    logging.warning('Skipping %s: %s', relative, reason)


def _write_shard(path, items, results, progress, report, file_writer):
  """Writes one shard from (relative_path, class_id) items, calling progress() after each;
  returns the class ids written."""
  labels = []
  with base.atomic_path(path) as tmp:
    with file_writer(tmp) as write:
      for relative, class_id in items:
        result = next(results)
        progress()
        if not result.ok:
          _report_skipped(report, relative, result.skipped)
          continue
        if result.reencoded:
          report['reencoded'].append({'file': relative, 'reason': result.reencoded})
        if result.rotated:
          report['rotated'].append({'file': relative, 'orientation': result.rotated})
        write(records.image_to_tfexample(result.data, records.IMAGE_FORMAT, result.height,
                                         result.width, class_id, relative))
        labels.append(class_id)
  return labels


def _write_split(dataset_dir, dataset_name, split, items, num_shards, class_names, results,
                 progress, report, file_writer):
  """Writes num_shards shards of one split; returns its manifest entry."""
  shards = []
  per_class = collections.Counter()
  for shard_id, (start, end) in enumerate(photos_lib.shard_ranges(len(items), num_shards)):
    path = dataset_utils.shard_filename(dataset_dir, dataset_name, split, shard_id, num_shards)
    labels = _write_shard(path, items[start:end], results, progress, report, file_writer)
    per_class.update(labels)
    shards.append({'file': os.path.basename(path), 'num_records': len(labels),
                   'bytes': os.path.getsize(path)})
  return {'num_samples': sum(per_class.values()), 'num_shards': num_shards,
          'per_class': {name: per_class[i] for i, name in enumerate(class_names)},
          'shards': shards}


def _write_splits(photos_dir, dataset_dir, dataset_name, splits, num_shards, class_names,
                  max_pixels, num_workers, progress, file_writer, not_files=()):
  """Checks the photos in worker processes and writes every split's shards; returns
  ({split: manifest entry}, {'skipped': [...], 'reencoded': [...], 'rotated': [...]}), the
  skipped ones starting with not_files ([(relative path, reason)]: list_photos's)."""
  order = [(split, item) for split in SPLITS for item in splits[split]]
  paths = [os.path.join(photos_dir, relative) for _, (relative, _) in order]
  logging.info('Converting %d photos of %d classes from %s with %d worker(s).', len(paths),
               len(class_names), photos_dir, num_workers)
  started = time.monotonic()
  tracker = base.Progress(len(paths))

  def tick():
    tracker.advance()
    if progress is not None:
      progress(tracker.done, tracker.total)
    if tracker.due(LOG_EVERY_SECS):
      logging.info('Converting: %s', tracker.line())

  report = {'skipped': [], 'reencoded': [], 'rotated': []}
  for relative, reason in not_files:
    _report_skipped(report, relative, reason)
  results = photos_lib.checked_images(paths, max_pixels, num_workers)
  try:
    entries = {split: _write_split(dataset_dir, dataset_name, split, splits[split], num_shards,
                                   class_names, results, tick, report, file_writer)
               for split in SPLITS}
  finally:
    results.close()
  elapsed = time.monotonic() - started
  logging.info('Converted %d photos in %.1f s (%.1f images/s): %d skipped, %d re-encoded, %d '
               'turned upright by their EXIF orientation.', len(paths), elapsed,
               len(paths) / max(elapsed, 1e-9), len(report['skipped']), len(report['reencoded']),
               len(report['rotated']))
  return entries, report


def _utc_now():
  return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _manifest(dataset_name, class_names, entries, report, renamed, source, flags, seed,
              num_validation, max_pixels, refused_members, split):
  manifest = {
      'format_version': dataset_utils.FORMAT_VERSION,
      'dataset_name': dataset_name,
      'class_names': list(class_names),
      'num_classes': len(class_names),
      'splits': entries,
      'source': dict(source),
      'flags': dict(flags or {}),
      'seed': seed,
      'num_validation': num_validation,
      'max_pixels': max_pixels,
      'skipped': report['skipped'],
      'reencoded': report['reencoded'],
      'rotated': report['rotated'],
      'renamed_classes': renamed,
      'refused_members': [{'member': member, 'reason': reason}
                          for member, reason in (refused_members or [])],
      'created': _utc_now(),
  }
  manifest.update(split)  # 'split': 'stratified' or 'given' (with 'split_folders')
  return manifest


def _check_not_empty(entries, validation_asked, report):
  """UserError (the earlier dataset kept) when a split asked for holds no photo at all."""
  for split in SPLITS:
    if not entries[split]['num_samples'] and (split == 'train' or validation_asked):
      raise UserError('no photo of the %s split could be converted (skipped: %s); the earlier '
                      'dataset, if any, is kept' % (split, _grouped(report['skipped']) or
                                                    'none'))


def _warn_empty_folders(folders, photos_per_class, photos_dir):
  """A warning per class folder without files, the first MAX_LOGGED of them; then a count."""
  empty = [folder for class_id, folder in enumerate(folders) if not photos_per_class[class_id]]
  for folder in empty[:MAX_LOGGED]:
    logging.warning('Class folder %r in %s has no files.', folder, photos_dir)
  if len(empty) > MAX_LOGGED:
    logging.warning('%d more class folders in %s have no files (%d in all; per_class in %s '
                    'counts 0 for them).', len(empty) - MAX_LOGGED, photos_dir, len(empty),
                    dataset_utils.MANIFEST_FILENAME)


def _write_error(error, dataset_dir, photos_dir, photos):
  """The FileSystemError (exit 3, as training's) for an OSError while the new output was
  written (its files are removed)."""
  kept = ('the earlier dataset there is kept unchanged'
          if dataset_utils.read_manifest(dataset_dir) else 'nothing of it was kept')
  if error.errno in (errno.ENOSPC, errno.EDQUOT):
    needed = sum(os.path.getsize(os.path.join(photos_dir, relative)) for relative, _ in photos)
    return base.FileSystemError(
        'disk full while writing the new dataset into %s: %.2f MB free, about %.2f MB needed (the '
        'size of the photos); %s; free some space or give another --dataset_dir'
        % (dataset_dir, shutil.disk_usage(dataset_dir).free / 1e6, needed / 1e6, kept))
  return base.FileSystemError('cannot write the new dataset into %s (%s: %s); %s'
                              % (dataset_dir, error.filename or dataset_dir,
                                 error.strerror or error, kept))


def convert_photos(photos_dir, dataset_dir, dataset_name='flowers', num_validation=350,
                   num_shards=5, seed=0, num_workers=None, source=None, flags=None,
                   overwrite=False, refused_members=None, progress=None,
                   max_pixels=images.DEFAULT_MAX_PIXELS, reason=None,
                   file_writer=records.file_writer, replace=os.replace):
  """Converts photos_dir/<class>/<photo> into shards, labels.txt and manifest.json.

  Returns the manifest. When dataset_dir already holds a complete conversion with the same
  settings (and overwrite is False) nothing is written and its manifest is returned. Otherwise
  the new output is built in dataset_dir/.staging and swapped in when complete
  (datasets/convert/staging.py): until then an earlier output stays as it was, also after a failure.
  source: a dict describing where the photos came from (default: the folder and a fingerprint of
  its files); flags: a dict recorded as given; refused_members: [(archive member, reason)].
  num_workers: processes decoding photos (None or 0: all cores; 1: in this process). They are
  started with 'spawn' (never forked from a process running TensorFlow), so a script calling
  this must guard its entry point with `if __name__ == '__main__':`. progress(done, total) is
  called after each photo. reason: why the caller (sources.download_and_convert) already
  decided to build, having checked the existing output itself. file_writer(path): a context
  manager yielding write(example) for one shard (records.file_writer); replace(source, target):
  the rename that moves each new file in at the swap (os.replace). Raises UserError for
  unusable arguments or photos_dir, and for a disk that is full or cannot be written.
  """
  validate_settings(dataset_name, num_shards, max_pixels, num_workers)
  base.check_no_glob_characters(dataset_dir, 'dataset_dir')
  given = photos_lib.given_split(photos_dir)
  folders, photos, not_files = photos_lib.list_photos(photos_dir)
  class_names, renamed = photos_lib.class_names_of(folders)
  if given:
    splits = photos_lib.split_given(photos, given, seed)
    split = {'split': 'given', 'split_folders': given}
  else:
    splits = photos_lib.split_photos(photos, num_validation, seed)
    split = {'split': 'stratified'}
  if source is None:
    source = photos_lib.photos_dir_source(photos_dir)
  os.makedirs(dataset_dir, exist_ok=True)
  if reason is None:
    manifest, reason = complete_output(dataset_dir, dataset_name, num_shards, num_validation,
                                       seed, source, max_pixels, overwrite, split['split'])
    if manifest:
      return manifest
  logging.info('Converting into %s: %s.', dataset_dir, reason)
  if given:
    logging.info('The photos come split (%s/ and %s/): that split is kept, and --num_validation '
                 'does not apply%s.', given['train'], given['validation'], ''.join(
                     '; %s/ is not converted' % name for name in photos_lib.IGNORED_FOLDERS
                     if os.path.isdir(os.path.join(photos_dir, name))))
  photos_per_class = collections.Counter(label for _, label in photos)
  _warn_empty_folders(folders, photos_per_class, photos_dir)

  try:
    new_dir = staging.create(dataset_dir)
    entries, report = _write_splits(photos_dir, new_dir, dataset_name, splits, num_shards,
                                    class_names, max_pixels,
                                    photos_lib.workers_or_all_cores(num_workers), progress,
                                    file_writer, not_files)
    _check_not_empty(entries, bool(given) or num_validation, report)
    dataset_utils.write_label_file(dict(enumerate(class_names)), new_dir)
    manifest = _manifest(dataset_name, class_names, entries, report, renamed, source, flags,
                         seed, num_validation, max_pixels, refused_members, split)
    for line in class_report.split_warnings(manifest, {
        class_names[label]: count for label, count in photos_per_class.items()}):
      logging.warning(line)
    dataset_utils.write_manifest(new_dir, manifest)
  except BaseException as e:
    staging.discard(dataset_dir)
    if isinstance(e, OSError):
      raise _write_error(e, dataset_dir, photos_dir, photos) from e
    raise
  staging.swap_in(dataset_dir, dataset_name, replace)
  return manifest


# --- the final summary ------------------------------------------------------------------------

def _grouped(entries, key='reason'):
  counts = collections.Counter(images.reason_group(entry[key]) for entry in entries)
  return ', '.join('%s: %d' % item for item in sorted(counts.items()))


def summary_text(manifest, dataset_dir):
  """A few lines for the user: images per split and class (every class up to
  base.LISTED_CLASSES, beyond a bounded summary: datasets/convert/class_report.py), classes a
  split lacks, what was skipped or re-encoded, where the files are."""
  class_names = manifest['class_names']
  splits = manifest['splits']
  total = sum(splits[split]['num_samples'] for split in SPLITS)
  lines = ['Dataset %r: %d images of %d classes in %s'
           % (manifest['dataset_name'], total, len(class_names), os.path.abspath(dataset_dir))]
  lines += class_report.class_table(manifest)
  lines += class_report.missing_lines(manifest)
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
  for key, title in (('rotated', 'Turned upright by their EXIF orientation'),
                     ('renamed_classes', 'Class folders renamed (unprintable characters)')):
    if manifest.get(key):
      lines.append('%s: %d; listed in %s' % (title, len(manifest[key]),
                                            dataset_utils.MANIFEST_FILENAME))
  refused = manifest.get('refused_members', [])
  if refused:
    lines.append('Archive members not extracted: %d (%s); listed in %s'
                 % (len(refused), _grouped(refused), dataset_utils.MANIFEST_FILENAME))
  return '\n'.join(lines)


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


OLD_SPLIT = 'random'  # manifests without 'split': one seeded shuffle, not stratified


def settings_changes(manifest, num_shards, num_validation, seed, source=None,
                     max_pixels=images.DEFAULT_MAX_PIXELS, split=None):
  """What differs between the requested settings and a manifest's, as 'name old -> new' strings.

  split: how the photos will be split ('stratified', 'given'), or None when that cannot be told
  before the photos are fetched (an archive: the same archive, by its SHA-256, comes the same
  way). A manifest of the split before stratification ('random') is always out of date, so a
  rerun rebuilds it stratified. num_validation does not matter to a given split.
  """
  old_shards = sorted(set(manifest['splits'][name]['num_shards'] for name in SPLITS))
  old_shards = old_shards[0] if len(old_shards) == 1 else old_shards
  old_split = manifest.get('split', OLD_SPLIT)
  new_split = split or (old_split if old_split != OLD_SPLIT else 'stratified')
  settings = [('split', old_split, new_split), ('num_shards', old_shards, num_shards)]
  if new_split != 'given':
    settings.append(('num_validation', manifest.get('num_validation'), num_validation))
  settings += [('seed', manifest.get('seed'), seed),
               ('max_pixels', manifest.get('max_pixels'), max_pixels)]
  changes = []
  for name, old, new in settings:
    if old != new:
      changes.append('%s %s -> %s' % (name, old, new))
  if not _same_source(manifest.get('source'), source):
    changes.append('the source photos differ')
  return changes


def up_to_date(dataset_dir, dataset_name, num_shards, num_validation, seed, source=None,
               max_pixels=images.DEFAULT_MAX_PIXELS, split=None):
  """(True, '') when dataset_dir is complete and made with these settings (settings_changes),
  else (False, why)."""
  if not os.path.isdir(dataset_dir):
    return False, 'no output yet'
  ok, problem = checks.check_complete(dataset_dir, dataset_name)
  if not ok:
    return False, problem
  changes = settings_changes(dataset_utils.read_manifest(dataset_dir), num_shards,
                             num_validation, seed, source, max_pixels, split)
  if changes:
    return False, 'settings changed (%s)' % ', '.join(changes)
  return True, ''
