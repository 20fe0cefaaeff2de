"""Small converted datasets the tests make with the converter's own functions: five classes of
one colour each, written as TFRecords (the session fixtures of conftest.py use them too)."""
import io
import os
import tempfile
import zlib

import numpy as np
from PIL import Image

from datasets import dataset_utils
from datasets.convert import photos
from datasets.convert import writer

CLASS_NAMES = ('daisy', 'dandelion', 'roses', 'sunflowers', 'tulips')


def jpeg_bytes(height, width, colour, seed=0):
  """A JPEG of one colour with a little noise, so every class is easy to tell by its pixels."""
  rng = np.random.default_rng(seed)
  pixels = np.clip(np.array(colour, np.float32) + rng.normal(0, 8, (height, width, 3)), 0, 255)
  buf = io.BytesIO()
  Image.fromarray(pixels.astype(np.uint8)).save(buf, format='JPEG', quality=90)
  return buf.getvalue()


CLASS_COLOURS = [(240, 240, 240), (230, 210, 30), (200, 30, 60), (120, 70, 20), (150, 40, 200),
                 (40, 160, 70)]  # (the sixth: a class added to CLASS_NAMES')


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
