"""A dataset written by download_and_convert_flowers.py, read back as a slim Dataset.

Works for Flowers and for any class-folder dataset the converter wrote under another
--dataset_name: the class count and names come from labels.txt, the sizes from the manifest
(counted from the shards when there is none, e.g. shards written by research/slim).
"""
import collections
import os
import re

import tensorflow as tf
import tf_slim as slim
from absl import logging

import compat
from base import UserError
from base import check_no_glob_characters
from datasets import dataset_utils
from datasets import identity
from datasets import records

SPLITS = dataset_utils.SPLITS
_SHARD_NUMBER = re.compile(r'_(\d+)-of-(\d+)\.tfrecord$')

ITEMS_TO_DESCRIPTIONS = {
    'image': 'A color image of varying height and width (uint8, 3 channels).',
    'encoded': 'The JPEG bytes of the image, for decode-and-crop preprocessing.',
    'label': 'A single integer class id.',
    'filename': 'The photo path relative to the source root ("" in shards without it).',
    'height': 'Image height in pixels.',
    'width': 'Image width in pixels.',
}


def make_decoder():
  keys_to_features = {
      'image/encoded': tf.io.FixedLenFeature((), tf.string, default_value=''),
      'image/format': tf.io.FixedLenFeature((), tf.string, default_value='jpeg'),
      'image/class/label': tf.io.FixedLenFeature((), tf.int64, default_value=-1),
      'image/height': tf.io.FixedLenFeature((), tf.int64, default_value=0),
      'image/width': tf.io.FixedLenFeature((), tf.int64, default_value=0),
      'image/filename': tf.io.FixedLenFeature((), tf.string, default_value=''),
  }
  items_to_handlers = {
      'image': compat.DecodedImage(),
      'encoded': slim.tfexample_decoder.Tensor('image/encoded'),
      'label': slim.tfexample_decoder.Tensor('image/class/label'),
      'filename': slim.tfexample_decoder.Tensor('image/filename'),
      'height': slim.tfexample_decoder.Tensor('image/height'),
      'width': slim.tfexample_decoder.Tensor('image/width'),
  }
  return slim.tfexample_decoder.TFExampleDecoder(keys_to_features, items_to_handlers)


def missing_shards(filenames):
  """The names of the shards absent from a set of NNNNN-of-MMMMM files (an interrupted
  conversion leaves the last ones out)."""
  present = {}
  for path in filenames:
    name = os.path.basename(path)
    match = _SHARD_NUMBER.search(name)
    if match:
      present.setdefault((name[:match.start()], int(match.group(2))), set()).add(
          int(match.group(1)))
  return ['%s_%05d-of-%05d.tfrecord' % (stem, shard_id, total)
          for (stem, total), ids in sorted(present.items())
          for shard_id in range(total) if shard_id not in ids]


def _record_labels(paths):
  """{label: records} over TFRecord files (the whole files are read: only where no manifest
  gives the counts). A damaged file is a UserError naming it."""
  counts = collections.Counter()
  for path in paths:
    try:
      for serialized in records.read(path):
        counts[records.parse(serialized).label] += 1
    except records.CorruptFile as e:
      raise UserError('damaged data: %s is corrupt after %d records (%s); rerun '
                      'download_and_convert_flowers.py with --overwrite'
                      % (path, sum(counts.values()), e)) from None
  return counts


def _label_range_problem(counts, num_classes):
  """What is wrong with the records' labels for a labels.txt of num_classes classes, or None."""
  if None in counts:
    return '%d record(s) carry no label' % counts[None]
  outside = [label for label in counts if not 0 <= label < num_classes]
  if outside:
    return ('records carry label %d, but it has ids 0-%d only (a line removed?)'
            % (max(outside, key=abs), num_classes - 1))
  return None


def _manifest_of(dataset_dir, dataset_name):
  """The manifest.json of this dataset, or None (none, unreadable, or another dataset's)."""
  manifest = dataset_utils.read_manifest(dataset_dir)
  if manifest and manifest.get('dataset_name', dataset_name) == dataset_name:
    return manifest
  return None


def _shard_paths(dataset_name, split_name, dataset_dir, file_pattern):
  """The sorted shard paths of the split; UserError when there are none or some are missing."""
  whole_split = file_pattern is None  # A pattern given may pick some shards on purpose.
  if file_pattern is None:
    file_pattern = dataset_utils.shard_glob(dataset_name, split_name)
  elif '%s' in file_pattern:
    file_pattern = file_pattern % split_name
  filenames = dataset_utils.in_folder(dataset_dir, file_pattern)
  if not filenames:
    raise UserError('no %s shards (%s) in %s; run download_and_convert_flowers.py '
                    '--dataset_dir=%s first' % (split_name, file_pattern, dataset_dir, dataset_dir))
  missing = missing_shards(filenames) if whole_split else []
  if missing:
    raise UserError('the %s split in %s is incomplete: %d shard(s) missing (%s) - an interrupted '
                    'conversion?; rerun download_and_convert_flowers.py --dataset_dir=%s'
                    % (split_name, dataset_dir, len(missing), missing[0], dataset_dir))
  return filenames


def _checked_labels(dataset_dir, manifest, split_name, filenames):
  """(labels_to_names, num_samples) once labels.txt agrees with the manifest, or (without one)
  with the labels the records carry; else a UserError naming labels.txt and the problem."""
  if not dataset_utils.has_labels(dataset_dir):
    raise UserError('%s has no %s; rerun download_and_convert_flowers.py --dataset_dir=%s'
                    % (dataset_dir, dataset_utils.LABELS_FILENAME, dataset_dir))
  labels_to_names = dataset_utils.read_label_file(dataset_dir)
  split_info = (manifest or {}).get('splits', {}).get(split_name)
  if manifest and split_info:
    problem = dataset_utils.labels_problem(labels_to_names, manifest.get('class_names'),
                                           split_info.get('per_class'))
    num_samples = int(split_info['num_samples'])
  else:
    counts = _record_labels(filenames)
    problem = (dataset_utils.labels_problem(labels_to_names)
               or _label_range_problem(counts, len(labels_to_names)))
    num_samples = sum(counts.values())
  if problem:
    raise UserError('%s: %s; restore it or rerun download_and_convert_flowers.py '
                    '--dataset_dir=%s --overwrite'
                    % (os.path.join(dataset_dir, dataset_utils.LABELS_FILENAME), problem,
                       dataset_dir))
  return labels_to_names, num_samples


def get_split(dataset_name, split_name, dataset_dir, file_pattern=None):
  """A slim.dataset.Dataset over <dataset_dir>/<dataset_name>_<split_name>_*.tfrecord.

  file_pattern: a glob relative to dataset_dir (may contain %s for the split name).
  Extra attributes: num_classes, labels_to_names, filenames (the sorted shard paths),
  dataset_dir, opened (its identity.Identity: identity.changed_error tells a conversion swapped
  in under a run that reads it).
  labels.txt is checked against manifest.json (names, count, the classes the split's records
  carry), or without a manifest against the labels of the records, which are then read.
  """
  if split_name not in SPLITS:
    raise UserError('unknown split "%s"; choose one of %s' % (split_name, ', '.join(SPLITS)))
  # slim's readers glob every data source again: a folder like data/ds[1] would read data/ds1.
  check_no_glob_characters(dataset_dir, 'dataset_dir')
  if not os.path.isdir(dataset_dir):
    raise UserError('dataset folder %s does not exist; run download_and_convert_flowers.py '
                    '--dataset_dir=%s first' % (dataset_dir, dataset_dir))
  if dataset_utils.swap_interrupted(dataset_dir):
    raise UserError('a conversion into %s was interrupted while its new files were moved in; '
                    'rerun download_and_convert_flowers.py --dataset_dir=%s to finish it'
                    % (dataset_dir, dataset_dir))
  filenames = _shard_paths(dataset_name, split_name, dataset_dir, file_pattern)
  files = identity.stat_files(dataset_dir, filenames)  # before reading them
  manifest = _manifest_of(dataset_dir, dataset_name)
  labels_to_names, num_samples = _checked_labels(dataset_dir, manifest, split_name, filenames)
  opened = identity.Identity(files, identity.describe(dataset_dir, split_name, manifest))
  return slim.dataset.Dataset(
      data_sources=filenames,
      reader=tf.compat.v1.TFRecordReader,
      decoder=make_decoder(),
      num_samples=num_samples,
      items_to_descriptions=ITEMS_TO_DESCRIPTIONS,
      num_classes=len(labels_to_names),
      labels_to_names=labels_to_names,
      filenames=filenames,
      name=dataset_name,
      split_name=split_name,
      dataset_dir=dataset_dir,
      opened=opened)


def first_records(filenames, count):
  """The first `count` records (records.Record) of the shards, in file order: the same photos
  every time the split is read."""
  found = []
  for path in filenames:
    for serialized in records.read(path):
      if len(found) >= count:
        return found
      found.append(records.parse(serialized))
  return found


def check_split_has_images(dataset, work):
  """UserError for a split of no images: training would wait for data forever and an evaluation
  would report the accuracy of nothing. work: what needs the images ('train', 'evaluate')."""
  if not dataset.num_samples:
    raise UserError('the %s split in %s holds no images: nothing to %s; convert photos into it '
                    'first (download_and_convert_flowers.py)'
                    % (dataset.split_name, os.path.dirname(dataset.data_sources[0]), work))


def batch_for_split(batch_size, num_samples):
  """batch_size, or the split's size with a log line when it is larger: a pass over the split
  never fills more, and the batch would be allocated (and preprocessed into) in full."""
  if batch_size <= num_samples:
    return batch_size
  logging.info('--batch_size=%d is more than the %d images of the split; using %d.', batch_size,
               num_samples, num_samples)
  return num_samples
