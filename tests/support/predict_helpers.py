"""Checkpoints that describe themselves (run.json) for the prediction and export tests, and photo
files in every format the prediction reads."""
import io
import os

import numpy as np
import tensorflow as tf
import tf_slim as slim
from PIL import Image

from nets import nets_factory
from rundir import run_info
from support.dataset_helpers import CLASS_NAMES
from support.photo_fixtures import huge_file

FC8_SCALE = 40.0  # an untrained net's probabilities are all near 1/C: spread them


def save_checkpoint(train_dir, step=1, averages_decay=None, describe=True,
                    class_names=CLASS_NAMES, seed=0):
  """train_dir/model.ckpt-<step> of an untrained alexnet_v2 whose fc8 weights are scaled so its
  probabilities are far from uniform. With averages_decay, the raw fc8 weights are 0 (every
  probability exactly 1/C) and only the moving averages hold the scaled ones. With describe,
  run.json and labels.txt as training writes them. The weights are drawn from seed, so a test's
  checkpoint, and how far from uniform its probabilities are, is the same in every run. Returns
  the prefix."""
  os.makedirs(train_dir, exist_ok=True)
  prefix = os.path.join(str(train_dir), 'model.ckpt-%d' % step)
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(seed)
    nets_factory.get_network_fn('alexnet_v2', len(class_names))(tf.zeros([1, 224, 224, 3]))
    global_step = tf.compat.v1.train.get_or_create_global_step()
    variables = slim.get_model_variables()
    fc8 = [v for v in variables if v.op.name.endswith('fc8/weights')][0]
    saved = variables + [global_step]
    if averages_decay:
      averages = tf.train.ExponentialMovingAverage(averages_decay, global_step)
      averages.apply(variables)
      saved += [averages.average(v) for v in variables]
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(global_step.assign(step))
      if averages_decay:
        sess.run([averages.average(v).assign(v) for v in variables])
        sess.run(averages.average(fc8).assign(fc8 * FC8_SCALE))
        sess.run(fc8.assign(tf.zeros_like(fc8)))
      else:
        sess.run(fc8.assign(fc8 * FC8_SCALE))
      tf.compat.v1.train.Saver(saved).save(sess, prefix, write_meta_graph=False)
  if describe:
    run_info.write(str(train_dir), run_info.RunInfo(
        'alexnet_v2', list(class_names), 224, 'inception', moving_average_decay=averages_decay))
  return prefix


def reorder_labels(train_dir):
  """Swaps the names of the first two lines of train_dir's labels.txt (the ids left in place), as
  a hand-edit might; returns its path."""
  labels = os.path.join(str(train_dir), 'labels.txt')
  with open(labels, encoding='utf-8') as f:
    names = [line.split(':', 1)[1] for line in f.read().splitlines()]
  names[0], names[1] = names[1], names[0]
  with open(labels, 'w', encoding='utf-8') as f:
    f.write(''.join('%d:%s\n' % item for item in enumerate(names)))
  return labels


def photo_bytes(mode='RGB', image_format='JPEG', size=(90, 70), seed=0):
  """A photo of size (width, height): colour blobs on noise, saved in mode and image_format."""
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (size[1], size[0], 3)).astype(np.float64) * 0.3
  for _ in range(3):
    y, x = rng.integers(0, size[1]), rng.integers(0, size[0])
    rows, cols = np.ogrid[:size[1], :size[0]]
    blob = np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2.0 * (size[0] / 6.0) ** 2))
    pixels += blob[..., None] * rng.uniform(0, 200, 3)
  image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), 'RGB').convert(mode)
  buf = io.BytesIO()
  image.save(buf, format=image_format)
  return buf.getvalue()


# name: (Pillow mode, format) of the photo formats a user may have.
FORMATS = {'rgb.jpg': ('RGB', 'JPEG'), 'cmyk.jpg': ('CMYK', 'JPEG'), 'gray.jpg': ('L', 'JPEG'),
           'photo.png': ('RGB', 'PNG'), 'alpha.png': ('RGBA', 'PNG'), 'photo.gif': ('P', 'GIF'),
           'photo.bmp': ('RGB', 'BMP'), 'photo.webp': ('RGB', 'WEBP')}


def write_photos(folder, names=tuple(FORMATS)):
  """folder/<name> for each FORMATS name; returns the paths."""
  os.makedirs(folder, exist_ok=True)
  paths = []
  for i, name in enumerate(names):
    mode, image_format = FORMATS[name]
    paths.append(os.path.join(str(folder), name))
    with open(paths[-1], 'wb') as f:
      f.write(photo_bytes(mode, image_format, size=(90 + 10 * i, 70), seed=i))
  return paths


def write_bad_files(folder):
  """{path: the reason prediction gives} for an empty file, a text file, a truncated JPEG and a
  3 GB one (sparse: a JPEG, then a hole)."""
  os.makedirs(folder, exist_ok=True)
  jpeg = photo_bytes(size=(200, 150))
  contents = {'empty.jpg': (b'', 'empty file'), 'notes.jpg': (b'not a photo\n', 'not an image'),
              'cut.jpg': (jpeg[:len(jpeg) // 2], 'truncated or corrupt image')}
  reasons = {}
  for name, (data, reason) in contents.items():
    path = os.path.join(str(folder), name)
    with open(path, 'wb') as f:
      f.write(data)
    reasons[path] = reason
  reasons[huge_file(os.path.join(str(folder), 'huge.jpg'), jpeg)] = 'file too large'
  return reasons
