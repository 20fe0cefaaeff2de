"""A TensorBoard log of what a split looks like, before any training (eval_alexnet.py
--dataset_view): per class a grid of its first photos, a table of the class counts, and an
embedding projector whose vectors are the pixels of small thumbnails, with a sprite of the photos.

Up to base.LISTED_CLASSES classes every class has its grid and its row. Beyond, only the classes
with the fewest and the most images (base.worst_and_best) do, the table says how the counts
spread and how many classes it leaves out, and every class's count goes to classes.csv beside the
events: the views stay the same size at any class count.

It reads the TFRecords with Pillow (the TF-Slim keys), needs no checkpoint and builds no graph.
"""
import csv
import dataclasses
import io
import os
import statistics

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
CLASSES_FILENAME = 'classes.csv'  # beyond LISTED_CLASSES: id, class, images of every class


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


def _listed(counts):
  """(class ids shown first, class ids shown last, how many between): every class up to
  base.LISTED_CLASSES, beyond the fewest images first and the most last."""
  return base.worst_and_best(range(len(counts)), key=lambda label: counts[label])


def _class_table(split_name, names, counts):
  """The Markdown of the text card 'dataset/classes'."""
  worst, best, left_out = _listed(counts)
  table = ['%d %s images in %d classes' % (counts.sum(), split_name, len(names)), '']
  if left_out:
    table += ['Images per class: min %d, median %g, max %d. The %d classes with the fewest images '
              'and the %d with the most; every class in %s beside the events.'
              % (counts.min(), statistics.median(counts.tolist()), counts.max(), len(worst),
                 len(best), CLASSES_FILENAME), '']
  table += ['| class | images |', '|---|---|']
  table += [events.markdown_row(names[i], counts[i]) for i in worst]
  if left_out:
    table.append(events.markdown_row('... %d more classes' % left_out, ''))
  table += [events.markdown_row(names[i], counts[i]) for i in best]
  return '\n'.join(table)


def _write_classes_csv(log_dir, names, counts):
  out = io.StringIO()
  rows = csv.writer(out, lineterminator='\n')
  rows.writerow(['id', 'class', 'images'])
  rows.writerows([i, name, int(count)] for i, (name, count) in enumerate(zip(names, counts)))
  base.write_text_atomic(os.path.join(log_dir, CLASSES_FILENAME), out.getvalue())


def _write_summaries(log_dir, split_name, names, view):
  """The sample grids of the listed classes and the table of class counts, at step 0 (with
  classes.csv first when the table leaves classes out)."""
  worst, best, left_out = _listed(view.counts)
  tags = events.class_tags(names)
  values = []
  for label in worst + best:
    if view.samples[label]:
      values.append(events.image_summary_value(
          'dataset/%s' % tags[label], photo_grids.image_grid(
              [t for t, _ in view.samples[label]],
              [os.path.basename(f) for _, f in view.samples[label]])))
  values.append(events.text_summary_value('dataset/classes',
                                          _class_table(split_name, names, view.counts)))
  tf.io.gfile.makedirs(log_dir)
  if left_out:
    _write_classes_csv(log_dir, names, view.counts)
  writer = events.make_writer(log_dir)
  try:
    writer.add_summary(tf.compat.v1.Summary(value=values), 0)
  finally:
    writer.close()


def _counts_text(names, counts):
  """'daisy 60, dandelion 86, ...', or beyond base.LISTED_CLASSES how the counts spread."""
  if len(names) <= base.LISTED_CLASSES:
    return ', '.join('%s %d' % (n, c) for n, c in zip(names, counts))
  return '%d classes, min %d, median %g, max %d per class' % (
      len(names), counts.min(), statistics.median(counts.tolist()), counts.max())


def write_dataset_view(dataset, log_dir, images_per_class=8, embedding_size=None,
                       pixel_size=32, thumb_size=projector.SPRITE_THUMB_SIZE):
  """A TensorBoard log of what a split looks like, before any training.

  Writes to log_dir: an image summary 'dataset/<class>' per class (a grid of its first
  images_per_class photos, captioned with their file names), a text table of the class counts
  (beyond base.LISTED_CLASSES classes: of the fewest and the most, every class in classes.csv),
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
               dataset.split_name, _counts_text(names, view.counts), log_dir, len(view.pixels))
  return {'num_images': int(view.counts.sum()),
          'class_counts': {n: int(c) for n, c in zip(names, view.counts)},
          'embedded': len(view.pixels)}
