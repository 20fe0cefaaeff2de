"""Shared fixtures: small datasets built by the tests themselves, once per session."""
import io
import os
import random
import zlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np
import pytest
from PIL import Image

import tensorflow as tf

tf.compat.v1.disable_eager_execution()

from datasets import dataset_utils  # noqa: E402

CLASS_NAMES = ('daisy', 'dandelion', 'roses', 'sunflowers', 'tulips')


def jpeg_bytes(height, width, colour, seed=0):
  """A JPEG of one colour with a little noise, so every class is easy to tell by its pixels."""
  rng = np.random.default_rng(seed)
  pixels = np.clip(np.array(colour, np.float32) + rng.normal(0, 8, (height, width, 3)), 0, 255)
  buf = io.BytesIO()
  Image.fromarray(pixels.astype(np.uint8)).save(buf, format='JPEG', quality=90)
  return buf.getvalue()


CLASS_COLOURS = [(240, 240, 240), (230, 210, 30), (200, 30, 60), (120, 70, 20), (150, 40, 200)]


def write_records_dataset(dataset_dir, per_class, num_validation, num_shards=2,
                          dataset_name='flowers', write_manifest=True, seed=0,
                          class_names=CLASS_NAMES):
  """Writes shards straight from generated JPEGs (no converter): returns {split: [(filename,
  label, height, width)]} in the order written."""
  os.makedirs(dataset_dir, exist_ok=True)
  items = []
  for label, name in enumerate(class_names):
    for i in range(per_class):
      height, width = 40 + 7 * i, 60 + 5 * label
      items.append(('%s/%s_%03d.jpg' % (name, name, i), label, height, width))
  random.Random(seed).shuffle(items)
  splits = {'validation': items[:num_validation], 'train': items[num_validation:]}
  manifest = {'format_version': 1, 'dataset_name': dataset_name,
              'class_names': list(class_names), 'num_classes': len(class_names), 'splits': {}}
  for split, split_items in splits.items():
    shards = []
    for shard_id in range(num_shards):
      path = dataset_utils.shard_filename(dataset_dir, dataset_name, split, shard_id, num_shards)
      shard_items = split_items[shard_id::num_shards]
      with tf.io.TFRecordWriter(path) as writer:
        for j, (filename, label, height, width) in enumerate(shard_items):
          data = jpeg_bytes(height, width, CLASS_COLOURS[label], seed=zlib.crc32(filename.encode()))
          example = dataset_utils.image_to_tfexample(data, b'jpeg', height, width, label, filename)
          writer.write(example.SerializeToString())
      shards.append({'file': os.path.basename(path), 'num_records': len(shard_items),
                     'bytes': os.path.getsize(path)})
    manifest['splits'][split] = {'num_samples': len(split_items), 'num_shards': num_shards,
                                 'shards': shards}
  dataset_utils.write_label_file(dict(enumerate(class_names)), dataset_dir)
  if write_manifest:
    dataset_utils.write_manifest(dataset_dir, manifest)
  return splits


@pytest.fixture(scope='session')
def records_dataset(tmp_path_factory):
  """A tiny five-class dataset of solid-colour JPEGs: 6 per class, 10 for validation."""
  dataset_dir = str(tmp_path_factory.mktemp('records'))
  splits = write_records_dataset(dataset_dir, per_class=6, num_validation=10)
  return dataset_dir, splits
