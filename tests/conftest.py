"""Shared fixtures: small datasets built by the tests themselves, once per session."""
import collections
import io
import os
import tempfile
import zlib

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np
import pytest
from PIL import Image

import tensorflow as tf

tf.compat.v1.disable_eager_execution()

from datasets import dataset_utils  # noqa: E402
from datasets.convert import photos  # noqa: E402
from datasets.convert import writer  # noqa: E402
from rundir import checkpoints  # noqa: E402
from training import trainer  # noqa: E402

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
  """Converts photos of one colour per class (CLASS_COLOURS, sizes varying with class and index)
  with the converter itself; returns {split: [(filename, label, height, width)]} in the order
  written. Without write_manifest, manifest.json is removed, as in shards research/slim wrote."""
  sizes = {}
  with tempfile.TemporaryDirectory() as photos_dir:
    for label, name in enumerate(class_names):
      os.makedirs(os.path.join(photos_dir, name))
      for i in range(per_class):
        filename = '%s/%s_%03d.jpg' % (name, name, i)
        height, width = sizes[filename] = 40 + 7 * i, 60 + 5 * label
        with open(os.path.join(photos_dir, filename), 'wb') as f:
          f.write(jpeg_bytes(height, width, CLASS_COLOURS[label],
                             seed=zlib.crc32(filename.encode())))
    writer.convert_photos(photos_dir, dataset_dir, dataset_name=dataset_name,
                          num_validation=num_validation, num_shards=num_shards, seed=seed,
                          num_workers=1)
    splits = photos.split_photos(photos.list_photos(photos_dir)[1], num_validation, seed)
  if not write_manifest:
    os.remove(os.path.join(dataset_dir, dataset_utils.MANIFEST_FILENAME))
  return {split: [(filename, label) + sizes[filename] for filename, label in items]
          for split, items in splits.items()}


@pytest.fixture(scope='session')
def records_dataset(tmp_path_factory):
  """A tiny five-class dataset of solid-colour JPEGs: 6 per class, 10 for validation."""
  dataset_dir = str(tmp_path_factory.mktemp('records'))
  splits = write_records_dataset(dataset_dir, per_class=6, num_validation=10)
  return dataset_dir, splits


Trained = collections.namedtuple('Trained', 'dataset_dir splits train_dir checkpoints')


@pytest.fixture(scope='session')
def trained(records_dataset, tmp_path_factory):
  """A training folder of a short trainer.train run with moving averages: 2+ checkpoints (and
  the event file with its graph)."""
  dataset_dir, splits = records_dataset
  train_dir = str(tmp_path_factory.mktemp('train'))

  def run(steps):
    trainer.train(trainer.TrainConfig(
        dataset_dir=dataset_dir, train_dir=train_dir, batch_size=4, max_number_of_steps=steps,
        moving_average_decay=0.9, num_readers=1, num_preprocessing_threads=1,
        log_every_n_steps=1, save_summaries_secs=1000, save_interval_secs=1000,
        summarize_histograms=False))

  run(3)
  if len(checkpoints.list_checkpoints(train_dir)) < 2:  # slim's first save raced the steps
    run(5)
  return Trained(dataset_dir, splits, train_dir, checkpoints.list_checkpoints(train_dir))
