"""A TensorBoard log of what a split looks like, before any training (eval_alexnet.py
--dataset_view): per class a grid of its first photos, a table of the class counts, and an
embedding projector whose vectors are the pixels of small thumbnails, with a sprite of the photos.

It reads the TFRecords with Pillow (the TF-Slim keys), needs no checkpoint and builds no graph.
"""
import dataclasses
import io
import os

import numpy as np
import tensorflow as tf
from absl import logging
from PIL import Image

import base
from base import UserError
from pictures import photo_grids
from summaries import events
from summaries import projector

EMBEDDING_TENSOR = 'pixels'


def _records(path):
  """The records of one shard; a damaged shard's records up to the damage, with a warning."""
  try:
    yield from tf.compat.v1.io.tf_record_iterator(path)
  except tf.errors.DataLossError as e:
    logging.warning('Skipping the rest of %s, which is damaged (%s); check the dataset with '
                    'download_and_convert_flowers.py --verify.', path,
                    base.first_line(e, 200))


def _read_examples(data_sources):
  """(encoded, label, filename) of every record, in file order (the TF-Slim keys)."""
  for path in data_sources:
    for record in _records(path):
      features = tf.train.Example.FromString(record).features.feature
      filename = b''
      if 'image/filename' in features and features['image/filename'].bytes_list.value:
        filename = features['image/filename'].bytes_list.value[0]
      yield (features['image/encoded'].bytes_list.value[0],
             int(features['image/class/label'].int64_list.value[0]),
             filename.decode('utf-8', 'replace'))


def _thumbnail(encoded, size):
  """A square centre crop of the photo, size x size, uint8 (Pillow, no TensorFlow)."""
  with Image.open(io.BytesIO(encoded)) as image:
    image.draft('RGB', (size, size))
    image = image.convert('RGB')
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
    return np.asarray(image)


@dataclasses.dataclass
class _View:
  counts: np.ndarray      # images per class
  samples: dict           # label -> [(thumbnail, filename)], the first images_per_class
  pixels: list            # the projector's vectors, one per embedded image
  thumbnails: list        # the sprite's photos, one per embedded image
  metadata: list          # {'filename', 'label'} per embedded image


def _collect(dataset, names, images_per_class, embedding_size, pixel_size, thumb_size):
  """One read of the split: the class counts, the sample photos and the embedded images."""
  view = _View(np.zeros(len(names), np.int64), {label: [] for label in range(len(names))},
               [], [], [])
  for index, (encoded, label, filename) in enumerate(_read_examples(dataset.data_sources)):
    if not 0 <= label < len(names):
      logging.warning('Record %d (%s) has label %d outside 0..%d; left out.', index, filename,
                      label, len(names) - 1)
      continue
    view.counts[label] += 1
    embed = embedding_size is None or len(view.pixels) < embedding_size
    sample = len(view.samples[label]) < images_per_class
    if not (embed or sample):
      continue
    try:
      thumbnail = _thumbnail(encoded, thumb_size)
    except (OSError, ValueError) as e:
      logging.warning('Record %d (%s) does not decode (%s); left out.', index, filename, e)
      continue
    if sample:
      view.samples[label].append((thumbnail, filename))
    if embed:
      view.thumbnails.append(thumbnail)
      small = np.asarray(Image.fromarray(thumbnail).resize((pixel_size, pixel_size),
                                                           Image.BILINEAR), np.float32)
      view.pixels.append(small.reshape(-1) / 255.0)
      view.metadata.append({'filename': filename, 'label': names[label]})
  return view


def _write_summaries(log_dir, split_name, names, view):
  """The sample grids per class and the table of class counts, at step 0."""
  values = []
  for label, tag in enumerate(events.class_tags(names)):
    if view.samples[label]:
      values.append(events.image_summary_value(
          'dataset/%s' % tag, photo_grids.image_grid(
              [t for t, _ in view.samples[label]],
              [os.path.basename(f) for _, f in view.samples[label]])))
  table = ['%d %s images in %d classes' % (view.counts.sum(), split_name, len(names)), '',
           '| class | images |', '|---|---|']
  table += [events.markdown_row(name, view.counts[i]) for i, name in enumerate(names)]
  values.append(events.text_summary_value('dataset/classes', '\n'.join(table)))
  tf.io.gfile.makedirs(log_dir)
  writer = events.make_writer(log_dir)
  try:
    writer.add_summary(tf.compat.v1.Summary(value=values), 0)
  finally:
    writer.close()


def write_dataset_view(dataset, log_dir, images_per_class=8, embedding_size=None,
                       pixel_size=32, thumb_size=projector.SPRITE_THUMB_SIZE):
  """A TensorBoard log of what a split looks like, before any training.

  Writes to log_dir: an image summary 'dataset/<class>' per class (a grid of its first
  images_per_class photos, captioned with their file names), a text table of the class counts,
  and an embedding projector whose vectors are the pixels of pixel_size x pixel_size thumbnails
  (first embedding_size images, all by default) with filename and label metadata and a sprite of
  the photos.
  Returns {'num_images': N, 'class_counts': {name: count}, 'embedded': M}.
  UserError, before anything is written, when log_dir is a training folder (holds checkpoints).
  """
  projector.check_log_dir(log_dir)
  names = base.class_names(dataset.labels_to_names, dataset.num_classes)
  view = _collect(dataset, names, images_per_class, embedding_size, pixel_size, thumb_size)
  if not view.counts.sum():
    raise UserError('the %s split of %s holds no readable image' % (dataset.split_name,
                                                                   dataset.data_sources[0]))
  _write_summaries(log_dir, dataset.split_name, names, view)
  if view.pixels:
    projector.write_projector(log_dir, np.stack(view.pixels), view.metadata, view.thumbnails,
                              tensor_name=EMBEDDING_TENSOR, step=0, thumb_size=thumb_size)
  logging.info('Dataset view of %d %s images (%s) in %s; %d in the projector.', view.counts.sum(),
               dataset.split_name, ', '.join('%s %d' % (n, c) for n, c in zip(names, view.counts)),
               log_dir, len(view.pixels))
  return {'num_images': int(view.counts.sum()),
          'class_counts': {n: int(c) for n, c in zip(names, view.counts)},
          'embedded': len(view.pixels)}
