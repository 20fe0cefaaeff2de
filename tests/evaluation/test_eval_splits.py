"""Splits of unusual sizes (issue 15, items 11 and 12): an empty split is an error for training
and evaluation, not an accuracy of nothing; an evaluation batch larger than the split is cut to
the split."""
import json
import logging
import os

import pytest
import tensorflow as tf

from base import UserError
from datasets import input_pipeline
from evaluation import evaluator
from support.dataset_helpers import write_records_dataset
from support.eval_helpers import eval_config
from support.tf_helpers import read_events
from support.tf_helpers import save_random_checkpoint
from support.tf_helpers import tiny_train_config
from training import trainer


@pytest.fixture(scope='module')
def empty_validation(tmp_path_factory):
  """A converted dataset whose validation split holds no image (--num_validation=0), and a
  checkpoint of an untrained five-class net."""
  dataset_dir = str(tmp_path_factory.mktemp('empty_validation'))
  write_records_dataset(dataset_dir, per_class=2, num_validation=0)
  checkpoint = save_random_checkpoint(
      os.path.join(str(tmp_path_factory.mktemp('train')), 'model.ckpt-3'), num_classes=5, step=3)
  return dataset_dir, checkpoint


def test_evaluating_an_empty_split_is_a_user_error_and_writes_nothing(empty_validation,
                                                                      tmp_path):
  dataset_dir, checkpoint = empty_validation
  with pytest.raises(UserError, match='validation split in .* holds no images'):
    evaluator.evaluate(eval_config(dataset_dir, checkpoint, tmp_path / 'eval'))
  assert not (tmp_path / 'eval').exists()


def test_a_pass_that_reads_no_image_writes_no_summary(empty_validation, tmp_path):
  """A manifest that counts images the shards do not hold: the pass itself finds none."""
  dataset_dir = str(tmp_path / 'data')
  os.makedirs(dataset_dir)
  for name in os.listdir(empty_validation[0]):
    os.link(os.path.join(empty_validation[0], name), os.path.join(dataset_dir, name))
  manifest_path = os.path.join(dataset_dir, 'manifest.json')
  with open(manifest_path) as f:
    manifest = json.load(f)
  manifest['splits']['validation']['num_samples'] = 10
  os.remove(manifest_path)  # (a hard link: the original stays as it was)
  with open(manifest_path, 'w') as f:
    json.dump(manifest, f)
  eval_dir = tmp_path / 'eval'
  with pytest.raises(UserError, match='read no images'):
    evaluator.evaluate(eval_config(dataset_dir, empty_validation[1], eval_dir))
  assert 'eval/accuracy' not in read_events(eval_dir)


def test_training_on_an_empty_split_is_a_user_error(empty_validation, tmp_path):
  config = tiny_train_config(empty_validation[0], tmp_path / 'train',
                             dataset_split_name='validation', max_number_of_steps=1)
  with pytest.raises(UserError, match='holds no images: nothing to train'):
    trainer.train(config)
  assert not tf.io.gfile.glob(str(tmp_path / 'train' / 'model.ckpt-*'))


def test_an_eval_batch_larger_than_the_split_is_cut_to_the_split(records_dataset, tmp_path,
                                                                 caplog):
  dataset_dir, splits = records_dataset
  checkpoint = save_random_checkpoint(str(tmp_path / 'model.ckpt-1'), num_classes=5, step=1)
  asked = []

  def spy(dataset, preprocess, batch_size, **kwargs):
    asked.append(batch_size)
    assert batch_size <= 10, 'a batch of %d images for a split of 10' % batch_size
    return input_pipeline.build_batches(dataset, preprocess, batch_size, **kwargs)
  caplog.set_level(logging.INFO)
  [result] = evaluator.evaluate(eval_config(dataset_dir, checkpoint, tmp_path / 'eval',
                                            batch_size=100000), build_batches=spy)
  assert asked == [10] and result.num_examples == len(splits['validation']) == 10
  assert '--batch_size=100000 is more than the 10 images of the split; using 10.' in caplog.text
