"""summaries.dataset_view: what a split looks like in TensorBoard, before any training."""
import shutil

import numpy as np
import pytest
import tensorflow as tf

from base import UserError
from datasets import dataset_factory
from summaries import dataset_view
from summaries import projector
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


def test_a_truncated_shard_is_read_up_to_its_damage_with_a_warning(records_dataset, tmp_path,
                                                                  caplog):
  dataset_dir = tmp_path / 'data'
  shutil.copytree(records_dataset[0], dataset_dir)
  shard = sorted(dataset_dir.glob('*_train_*'))[0]
  shard.write_bytes(shard.read_bytes()[:shard.stat().st_size // 2])
  with tf.Graph().as_default():
    dataset = dataset_factory.get_dataset('flowers', 'train', str(dataset_dir))
  view = dataset_view.write_dataset_view(dataset, str(tmp_path / 'view'), images_per_class=1,
                                         pixel_size=4)
  assert 0 < view['num_images'] < len(records_dataset[1]['train'])
  assert 'Skipping the rest of %s, which is damaged' % shard in caplog.text
