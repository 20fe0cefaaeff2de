"""A dataset written by download_and_convert_flowers.py, read back as a slim Dataset.

Works for Flowers and for any class-folder dataset the converter wrote under another
--dataset_name: the class count and names come from labels.txt, the sizes from the manifest
(counted from the shards when there is none, e.g. shards written by research/slim).
"""
import glob
import os
import re

import tensorflow as tf
import tf_slim as slim

import compat
from base import UserError
from datasets import dataset_utils

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


def count_records(paths):
  return sum(sum(1 for _ in tf.compat.v1.io.tf_record_iterator(p)) for p in paths)


def get_split(dataset_name, split_name, dataset_dir, file_pattern=None):
  """A slim.dataset.Dataset over <dataset_dir>/<dataset_name>_<split_name>_*.tfrecord.

  file_pattern: a glob relative to dataset_dir (may contain %s for the split name).
  Extra attributes: num_classes, labels_to_names, filenames (the sorted shard paths).
  """
  if split_name not in SPLITS:
    raise UserError('unknown split "%s"; choose one of %s' % (split_name, ', '.join(SPLITS)))
  if not os.path.isdir(dataset_dir):
    raise UserError('dataset folder %s does not exist; run download_and_convert_flowers.py '
                    '--dataset_dir=%s first' % (dataset_dir, dataset_dir))
  whole_split = file_pattern is None  # A pattern given may pick some shards on purpose.
  if file_pattern is None:
    file_pattern = dataset_utils.shard_glob(dataset_name, split_name)
  elif '%s' in file_pattern:
    file_pattern = file_pattern % split_name
  filenames = sorted(glob.glob(os.path.join(dataset_dir, file_pattern)))
  if not filenames:
    raise UserError('no %s shards (%s) in %s; run download_and_convert_flowers.py '
                    '--dataset_dir=%s first' % (split_name, file_pattern, dataset_dir, dataset_dir))
  missing = missing_shards(filenames) if whole_split else []
  if missing:
    raise UserError('the %s split in %s is incomplete: %d shard(s) missing (%s) - an interrupted '
                    'conversion?; rerun download_and_convert_flowers.py --dataset_dir=%s'
                    % (split_name, dataset_dir, len(missing), missing[0], dataset_dir))
  if not dataset_utils.has_labels(dataset_dir):
    raise UserError('%s has no %s; rerun download_and_convert_flowers.py --dataset_dir=%s'
                    % (dataset_dir, dataset_utils.LABELS_FILENAME, dataset_dir))
  labels_to_names = dataset_utils.read_label_file(dataset_dir)

  manifest = dataset_utils.read_manifest(dataset_dir) or {}
  split_info = manifest.get('splits', {}).get(split_name)
  if split_info and manifest.get('dataset_name', dataset_name) == dataset_name:
    num_samples = int(split_info['num_samples'])
  else:
    num_samples = count_records(filenames)

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
      split_name=split_name)
