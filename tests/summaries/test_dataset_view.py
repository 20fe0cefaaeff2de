"""summaries.dataset_view: what a split looks like in TensorBoard, before any training."""
import csv
import io
import pathlib
import re
import types

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from base import UserError
from datasets import dataset_factory
from datasets import records
from summaries import dataset_view
from summaries import projector
from support.dataset_helpers import jpeg_bytes
from support.tf_helpers import read_events


def test_dataset_view_writes_class_grids_and_a_pixel_projector(records_dataset, tmp_path):
  dataset_dir, splits = records_dataset
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('flowers', 'train', dataset_dir)
  view = dataset_view.write_dataset_view(dataset, str(tmp_path / 'view'), images_per_class=2,
                                         pixel_size=8)
  counts = np.bincount([label for _, label, _, _ in splits['train']], minlength=5)
  assert view['num_images'] == counts.sum() == view['embedded']
  assert view['class_counts'] == dict(zip(
      ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'], counts.tolist()))
  tags = read_events(tmp_path / 'view')
  for name in ('daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'):
    assert tags['dataset/' + name][0][1] == 'image'
  assert tags['dataset/classes'][0][1] == 'text'
  pixels = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / 'view')))
  assert pixels.get_tensor('pixels').shape == (counts.sum(), 8 * 8 * 3)
  with open(projector.embedding_files(str(tmp_path / 'view'), 'pixels')['metadata']) as f:
    metadata = f.read().splitlines()
  assert metadata[0] == 'filename\tlabel' and len(metadata) == counts.sum() + 1


def test_dataset_view_into_a_training_folder_is_refused_before_anything_is_written(
    records_dataset, tmp_path):
  train_dir = tmp_path / 'train'
  train_dir.mkdir()
  (train_dir / 'checkpoint').write_text('model_checkpoint_path: "model.ckpt-3"\n')
  (train_dir / 'model.ckpt-3.index').write_bytes(b'')
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('flowers', 'validation', records_dataset[0])
  with pytest.raises(UserError, match='model.ckpt-3'):
    dataset_view.write_dataset_view(dataset, str(train_dir))
  assert sorted(p.name for p in train_dir.iterdir()) == ['checkpoint', 'model.ckpt-3.index']


def test_a_truncated_shard_is_read_up_to_its_damage_with_a_warning(records_dataset_copy,
                                                                  tmp_path, caplog):
  dataset_dir = pathlib.Path(records_dataset_copy[0])
  shard = sorted(dataset_dir.glob('*_train_*'))[0]
  shard.write_bytes(shard.read_bytes()[:shard.stat().st_size // 2])
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('flowers', 'train', str(dataset_dir))
  view = dataset_view.write_dataset_view(dataset, str(tmp_path / 'view'), images_per_class=1,
                                         pixel_size=4)
  assert 0 < view['num_images'] < len(records_dataset_copy[1]['train'])
  assert 'Skipping the rest of %s, which is damaged' % shard in caplog.text


def _many_classes_split(folder, num_classes, counts):
  """A split of num_classes classes of tiny JPEGs (class c has counts(c) images), in one shard
  written with records.file_writer; a dataset as the view reads it."""
  path = str(folder / 'many_validation_00000-of-00001.tfrecord')
  photo = jpeg_bytes(8, 8, (90, 160, 40))
  with records.file_writer(path) as write:
    for c in range(num_classes):
      for i in range(counts(c)):
        write(records.image_to_tfexample(photo, b'jpeg', 8, 8, c, b'c%03d/%d.jpg' % (c, i)))
  return types.SimpleNamespace(
      data_sources=[path], split_name='validation', num_classes=num_classes,
      labels_to_names={c: 'class %03d' % c for c in range(num_classes)})


def test_the_view_of_many_classes_shows_the_fewest_and_the_most_and_lists_all_in_a_file(
    tmp_path):
  dataset = _many_classes_split(tmp_path, 300, lambda c: 1 + c % 3 + (c == 7) * 5)
  log_dir = tmp_path / 'view'
  view = dataset_view.write_dataset_view(dataset, str(log_dir), images_per_class=8,
                                         embedding_size=10, pixel_size=4)
  assert view['num_images'] == 600 + 5 and view['embedded'] == 10
  tags = read_events(log_dir)
  grids = sorted(tag for tag, items in tags.items() if items[0][1] == 'image')
  assert len(grids) == 20 and 'dataset/class_007' in grids  # the most images: 1 + 1 + 5
  for tag in grids:
    height, width = Image.open(io.BytesIO(tags[tag][0][2])).size
    assert max(height, width) <= 4096
  table = tags['dataset/classes'][0][2].item().decode('utf-8')
  assert len(table) < 4096 and len(re.findall(r'^\| class \d{3} \|', table, re.M)) == 20
  assert '| ... 280 more classes |  |' in table
  assert 'Images per class: min 1, median 2, max 7.' in table
  with open(log_dir / dataset_view.CLASSES_FILENAME, newline='') as f:
    rows = list(csv.reader(f))
  assert rows[0] == ['id', 'class', 'images'] and len(rows) == 301
  assert rows[8] == ['7', 'class 007', '7']


def test_up_to_twenty_classes_every_class_has_its_grid_and_its_row_and_no_file(tmp_path):
  dataset = _many_classes_split(tmp_path, 20, lambda c: 1)
  dataset_view.write_dataset_view(dataset, str(tmp_path / 'view'), images_per_class=1,
                                  embedding_size=0, pixel_size=4)
  tags = read_events(tmp_path / 'view')
  assert sorted(tag for tag in tags if tag != 'dataset/classes') == [
      'dataset/class_%03d' % c for c in range(20)]
  table = tags['dataset/classes'][0][2].item().decode('utf-8')
  assert table.splitlines()[4:] == ['| class %03d | 1 |' % c for c in range(20)]
  assert not (tmp_path / 'view' / dataset_view.CLASSES_FILENAME).exists()
