"""Small photo folders for the converter's tests, and reading back what it wrote."""
import io
import os

import numpy as np
import tensorflow as tf
from PIL import Image

from datasets.convert import writer

CLASSES = ('daisy', 'roses', 'tulips')


def jpeg(seed, size=(20, 16), mode='RGB', image_format='JPEG'):
  """Noise pixels of `size` (width, height) saved in `mode` and `image_format`."""
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
  buf = io.BytesIO()
  Image.fromarray(pixels, 'RGB').convert(mode).save(buf, format=image_format)
  return buf.getvalue()


def jpeg_with_orientation(orientation, size=(32, 24)):
  """An RGB JPEG of `size` (width, height), its top half red and bottom half blue as stored,
  with an EXIF orientation tag (6: a phone held upright, turned 90 degrees clockwise)."""
  pixels = np.zeros((size[1], size[0], 3), np.uint8)
  pixels[:size[1] // 2] = (255, 0, 0)
  pixels[size[1] // 2:] = (0, 0, 255)
  exif = Image.Exif()
  exif[0x0112] = orientation
  buf = io.BytesIO()
  Image.fromarray(pixels, 'RGB').save(buf, format='JPEG', quality=95, exif=exif.tobytes())
  return buf.getvalue()


def huge_file(path, head, size=3 * 2 ** 30):
  """A file of `size` bytes (3 GB): `head`, then a hole (a sparse file takes no disk)."""
  with open(path, 'wb') as f:
    f.write(head)
  os.truncate(path, size)
  return str(path)


def make_photos(root, per_class=(5, 4, 3)):
  """root/<class>/<class>_NN.jpg small RGB JPEGs; returns root as str."""
  for class_id, (name, count) in enumerate(zip(CLASSES, per_class)):
    os.makedirs(os.path.join(root, name), exist_ok=True)
    for i in range(count):
      with open(os.path.join(root, name, '%s_%02d.jpg' % (name, i)), 'wb') as f:
        f.write(jpeg(seed=100 * class_id + i, size=(20 + i, 16)))
  return str(root)


def convert_small(tmp_path, **kwargs):
  """(photos folder, dataset folder, manifest) of 12 photos in 3 classes, 3 for validation."""
  photos = make_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  settings = dict(num_validation=3, num_shards=2, num_workers=1)
  settings.update(kwargs)
  manifest = writer.convert_photos(photos, dataset_dir, **settings)
  return photos, dataset_dir, manifest


def read_records(path):
  """[(label, filename)] of a shard, read with TensorFlow alone (not the code under test)."""
  records = []
  for record in tf.compat.v1.io.tf_record_iterator(path):
    feature = tf.train.Example.FromString(record).features.feature
    records.append((feature['image/class/label'].int64_list.value[0],
                    feature['image/filename'].bytes_list.value[0].decode()))
  return records


def shard_paths(dataset_dir, manifest, split):
  return [os.path.join(dataset_dir, s['file']) for s in manifest['splits'][split]['shards']]


def mtimes(dataset_dir):
  """{file: mtime} of the dataset's files (the converter's lock file is rewritten by each run)."""
  return {name: os.stat(os.path.join(dataset_dir, name)).st_mtime_ns
          for name in os.listdir(dataset_dir) if name != '.convert.lock'}
