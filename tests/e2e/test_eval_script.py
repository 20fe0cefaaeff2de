"""eval_alexnet.py as a command: --once end to end, --dataset_view, and user mistakes as one line
with exit status 2."""
import glob
import os
import subprocess
import sys

import pytest

from summaries import projector
from support.tf_helpers import read_events
from support.tf_helpers import save_random_checkpoint

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      'eval_alexnet.py')


@pytest.fixture(scope='module')
def train_dir(tmp_path_factory):
  """A training folder with one checkpoint (step 7) of an untrained 5-class alexnet_v2."""
  folder = tmp_path_factory.mktemp('script_train')
  save_random_checkpoint(str(folder / 'model.ckpt-7'), num_classes=5, step=7)
  return folder


def run(*args):
  env = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2')
  return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True, text=True,
                        timeout=300, env=env)


def assert_one_line_error(process, expected):
  lines = process.stderr.strip().splitlines()
  assert process.returncode == 2, process.stderr[-2000:]
  assert 'Traceback' not in process.stderr
  assert [l for l in lines if l.startswith('error: ')] == [lines[-1]]
  assert expected in lines[-1]


@pytest.mark.slow
def test_once_writes_the_evaluation_into_eval_dir(records_dataset, train_dir, tmp_path):
  dataset_dir, _ = records_dataset
  eval_dir = tmp_path / 'eval'
  process = run('--dataset_dir=%s' % dataset_dir, '--checkpoint_path=%s' % train_dir,
                '--eval_dir=%s' % eval_dir, '--once', '--batch_size=5', '--eval_device=cpu')
  assert process.returncode == 0, process.stderr[-3000:]
  assert 'model.ckpt-7 (step 7) on 10 validation images: accuracy' in process.stderr
  tags = read_events(eval_dir)
  assert tags['eval/accuracy'][0][0] == 7
  assert os.path.isfile(eval_dir / 'projector_config.pbtxt')
  assert not glob.glob(str(train_dir / 'events.*'))


@pytest.mark.slow
def test_dataset_view_needs_no_checkpoint(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  process = run('--dataset_dir=%s' % dataset_dir, '--dataset_view=%s' % (tmp_path / 'view'))
  assert process.returncode == 0, process.stderr[-3000:]
  assert 'dataset/daisy' in read_events(tmp_path / 'view')
  assert os.path.isfile(projector.embedding_files(str(tmp_path / 'view'), 'pixels')['sprite'])


def test_user_mistakes_are_one_line_and_exit_2(records_dataset, train_dir):
  """A UserError after TensorFlow loaded (here the script's own: no --eval_dir) is one line and
  exit 2. The evaluator's checks of the other mistakes (a missing dataset folder, an unknown
  split or dataset, --batch_size=0, a missing or mistyped checkpoint, --eval_dir the training
  folder) leave the same way; they are tested in process (test_evaluation), where they cost no
  TensorFlow start-up of their own."""
  assert_one_line_error(run('--dataset_dir=%s' % records_dataset[0],
                            '--checkpoint_path=%s' % train_dir, '--eval_dir='),
                        '--eval_dir is required')


@pytest.mark.slow
def test_checkpoint_of_another_architecture_is_one_line_and_exit_2(records_dataset, train_dir,
                                                                    tmp_path):
  dataset_dir, _ = records_dataset
  process = run('--dataset_dir=%s' % dataset_dir, '--checkpoint_path=%s' % train_dir,
                '--eval_dir=%s' % (tmp_path / 'eval'), '--use_batch_norm', '--once')
  assert_one_line_error(process, 'it was not trained as alexnet_v2_bn')
