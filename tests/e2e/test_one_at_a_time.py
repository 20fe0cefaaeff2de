"""One trainer per --train_dir and one evaluator per --eval_dir (a lock file each), and folders
whose names TensorFlow would expand as glob patterns are refused before anything is written."""
import os

import pytest

import base
from base import UserError
from evaluation import eval_config
from evaluation import evaluator
from support import tf_helpers
from training import trainer


def test_a_second_trainer_on_a_train_dir_in_use_is_refused(records_dataset, tmp_path):
  train_dir = str(tmp_path / 'run')
  os.makedirs(train_dir)
  with base.folder_lock(train_dir, trainer.LOCK_FILENAME, 'a training run'):
    with pytest.raises(UserError, match=r'in use by a training run, PID %d' % os.getpid()):
      trainer.train(tf_helpers.tiny_train_config(records_dataset[0], train_dir))
  assert os.listdir(train_dir) == [trainer.LOCK_FILENAME]  # nothing written by the refused run


def test_a_second_evaluator_on_an_eval_dir_in_use_is_refused(records_dataset, tmp_path):
  prefix = tf_helpers.save_random_checkpoint(str(tmp_path / 'train' / 'model.ckpt-3'), 5, 3)
  eval_dir = str(tmp_path / 'eval')
  os.makedirs(eval_dir)
  config = eval_config.EvalConfig(dataset_dir=records_dataset[0], checkpoint_path=prefix,
                                eval_dir=eval_dir, batch_size=4, num_preprocessing_threads=1)
  with base.folder_lock(eval_dir, evaluator.LOCK_FILENAME, 'an evaluation'):
    with pytest.raises(UserError, match='in use by an evaluation'):
      evaluator.evaluate(config)
  assert os.listdir(eval_dir) == [evaluator.LOCK_FILENAME]


@pytest.mark.parametrize('flag', ['train_dir', 'dataset_dir', 'checkpoint_path'])
def test_training_refuses_glob_characters_and_leaves_a_sibling_alone(records_dataset, tmp_path,
                                                                    flag):
  sibling = tmp_path / 'run1'
  sibling.mkdir()
  (sibling / 'model.ckpt-0.index').write_bytes(b'kept')
  settings = {'train_dir': str(tmp_path / 'run[12]'), 'dataset_dir': records_dataset[0]}
  if flag != 'train_dir':
    settings = {'train_dir': str(tmp_path / 'run2'), 'dataset_dir': records_dataset[0],
                flag: str(tmp_path / 'ds[1]')}
  with pytest.raises(UserError, match='--%s=.*glob characters' % flag):
    trainer.train(tf_helpers.tiny_train_config(**settings))
  assert sorted(os.listdir(tmp_path)) == ['run1']
  assert (sibling / 'model.ckpt-0.index').read_bytes() == b'kept'


def test_evaluation_refuses_glob_characters(records_dataset, tmp_path):
  config = eval_config.EvalConfig(dataset_dir=records_dataset[0],
                                checkpoint_path=str(tmp_path / 'run[12]'),
                                eval_dir=str(tmp_path / 'eval'))
  with pytest.raises(UserError, match='--checkpoint_path=.*glob characters'):
    evaluator.evaluate(config)
  assert not (tmp_path / 'eval').exists()
