"""The on-disk format shared by the converter and the readers.

TFRecord keys are TF-Slim's (image/encoded, image/format, image/class/label, image/height,
image/width) plus image/filename, so research/slim's flowers reader reads our shards and ours
reads theirs. Nothing here reads flags.
"""
import json
import os

from base import UserError
from base import write_text_atomic

LABELS_FILENAME = 'labels.txt'
MANIFEST_FILENAME = 'manifest.json'
SHARD_PATTERN = '%s_%s_%05d-of-%05d.tfrecord'


def shard_filename(dataset_dir, dataset_name, split_name, shard_id, num_shards):
  return os.path.join(dataset_dir,
                      SHARD_PATTERN % (dataset_name, split_name, shard_id, num_shards))


def shard_glob(dataset_name, split_name):
  return '%s_%s_*-of-*.tfrecord' % (dataset_name, split_name)


# --- tf.train.Example -------------------------------------------------------------------------

def int64_feature(values):
  import tensorflow as tf
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
  import tensorflow as tf
  if isinstance(values, str):
    values = values.encode('utf-8')
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values]))


def image_to_tfexample(image_data, image_format, height, width, class_id, filename):
  """One record: JPEG bytes, format, label, size and the photo's path relative to its root."""
  import tensorflow as tf
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(class_id),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
      'image/filename': bytes_feature(filename),
  }))


# --- labels.txt -------------------------------------------------------------------------------

def write_label_file(labels_to_class_names, dataset_dir, filename=LABELS_FILENAME):
  """Writes `id:name` lines, sorted by id."""
  lines = ''.join('%d:%s\n' % (label, labels_to_class_names[label])
                  for label in sorted(labels_to_class_names))
  write_text_atomic(os.path.join(dataset_dir, filename), lines)


def has_labels(dataset_dir, filename=LABELS_FILENAME):
  return os.path.isfile(os.path.join(dataset_dir, filename))


def read_label_file(dataset_dir, filename=LABELS_FILENAME):
  """Reads `id:name` lines into {id: name}. (research/slim's version called .decode() on a str
  and died with AttributeError on Python 3.)"""
  path = os.path.join(dataset_dir, filename)
  labels_to_class_names = {}
  with open(path, encoding='utf-8') as f:
    for line_number, line in enumerate(f, 1):
      line = line.rstrip('\r\n')
      if not line:
        continue
      label, sep, name = line.partition(':')
      if not sep or not label.strip().isdigit():
        raise UserError('%s line %d is not "id:name": %r' % (path, line_number, line))
      labels_to_class_names[int(label)] = name
  return labels_to_class_names


# --- manifest.json ----------------------------------------------------------------------------

def write_manifest(dataset_dir, manifest):
  write_text_atomic(os.path.join(dataset_dir, MANIFEST_FILENAME),
                    json.dumps(manifest, indent=2, sort_keys=True) + '\n')


def read_manifest(dataset_dir):
  """The manifest as a dict, or None when there is none or it does not parse."""
  path = os.path.join(dataset_dir, MANIFEST_FILENAME)
  try:
    with open(path, encoding='utf-8') as f:
      manifest = json.load(f)
  except (OSError, ValueError):
    return None
  return manifest if isinstance(manifest, dict) else None
