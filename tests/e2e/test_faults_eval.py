"""Nothing lost (issue 7), the evaluator's share: damaged shards, bad input, and evaluating beside
a training that rotates its checkpoints away every second. Run through eval_alexnet.py as a user
would."""
import json
import os
import re
import signal
import time

import pytest
import tensorflow as tf

from support.faults import Running
from support.faults import assert_last_line_error
from support.faults import damaged_copy
from support.faults import wait_for_file
from support.faults import write_tiny_checkpoints
from support.scripts import assert_one_line_error
from support.scripts import run_script

EVAL = 'eval_alexnet.py'
TRAIN = 'train_alexnet.py'


@pytest.fixture
def train_dir(trained):
  """The session's training folder (conftest's trained: read-only) of an alexnet_v2 run on
  records_dataset: a trained checkpoint, without a training of this module's own."""
  return trained.train_dir


def newest(trained):
  return os.path.basename(trained.checkpoints[-1][1])


def eval_flags(dataset_dir, checkpoint_path, eval_dir, *extra):
  return ('--dataset_dir=%s' % dataset_dir, '--checkpoint_path=%s' % checkpoint_path,
          '--eval_dir=%s' % eval_dir, '--batch_size=5', '--embedding_size=0',
          '--grid_images=0') + extra


# --- corruption -------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize('damage', ['flipped byte', 'truncated'])
def test_evaluating_a_damaged_shard_exits_2_naming_the_shard(records_dataset, train_dir,
                                                            tmp_path, damage):
  dataset_dir, shard = damaged_copy(records_dataset[0], tmp_path / 'data', 'validation', damage)
  result = run_script(EVAL, *eval_flags(dataset_dir, train_dir, tmp_path / 'eval', '--once'))
  assert_last_line_error(result, shard)


# --- bad input --------------------------------------------------------------------------------

# (A missing dataset folder, an unknown split or dataset, --batch_size=0 and a missing checkpoint
# are UserErrors the evaluator raises before any graph: tested in process in test_evaluation;
# test_eval_script has a UserError from the shell, one line and exit 2.)


def test_a_checkpoint_of_another_net_exits_2(records_dataset, tmp_path):
  other = write_tiny_checkpoints(tmp_path / 'other', [3], scope='vgg_16/conv1')[0]
  result = run_script(EVAL, *eval_flags(records_dataset[0], other, tmp_path / 'eval'))
  assert_last_line_error(result, other, 'has no variable alexnet_v2/')


def test_a_checkpoint_without_batch_norm_for_the_batch_norm_net_exits_2(records_dataset, trained,
                                                                       train_dir, tmp_path):
  result = run_script(EVAL, *eval_flags(records_dataset[0], train_dir, tmp_path / 'eval',
                                        '--once', '--use_batch_norm'))
  assert_last_line_error(result, newest(trained), 'BatchNorm', 'alexnet_v2_bn')


def test_a_dataset_view_into_a_training_folder_is_one_line_and_writes_nothing(records_dataset,
                                                                             trained, train_dir):
  before = sorted(os.listdir(train_dir))
  result = run_script(EVAL, '--dataset_dir=%s' % records_dataset[0],
                      '--dataset_view=%s' % train_dir)
  assert_one_line_error(result, train_dir, 'other checkpoints (%s)' % newest(trained))
  assert sorted(os.listdir(train_dir)) == before


# --- evaluation under pressure ----------------------------------------------------------------

@pytest.mark.slow
def test_the_evaluator_survives_a_training_that_rotates_every_checkpoint_away(records_dataset,
                                                                             tmp_path):
  train_dir, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  training = Running(TRAIN, '--dataset_dir=' + records_dataset[0], '--train_dir=%s' % train_dir,
                     '--batch_size=2', '--max_number_of_steps=100000', '--num_readers=1',
                     '--num_preprocessing_threads=1', '--log_every_n_steps=1',
                     '--nosummarize_histograms', '--optimizer=sgd', '--keep_checkpoint_max=1',
                     '--save_interval_secs=1')
  runs = [training]
  try:
    # The evaluator starts once there is a checkpoint: its --timeout counts from its start, and
    # training's start (TensorFlow's import, the graph) can outlast it on a busy machine.
    first = wait_for_file(os.path.join(str(train_dir), 'model.ckpt-*.index'), 120,
                          process=training.process)
    assert first, 'training wrote no checkpoint:\n' + training.output[-3000:]
    evaluating = Running(EVAL, *eval_flags(records_dataset[0], train_dir, eval_dir,
                                           '--eval_interval_secs=0.5', '--timeout=10',
                                           '--max_number_of_steps=0'))
    runs.append(evaluating)
    # Training goes on until the evaluator has lost a checkpoint to the rotation. (Not also
    # until it evaluated one meanwhile: on a loaded machine each is rotated away before it is
    # read. It evaluates the last one, below.)
    deadline = time.time() + 120
    while not re.search(r'Skipping model\.ckpt-', evaluating.output):
      assert time.time() < deadline, evaluating.output[-3000:]
      assert evaluating.process.poll() is None, 'the evaluator ended while training ran:\n' + \
          evaluating.output[-3000:]
      assert training.process.poll() is None, training.output[-3000:]
      time.sleep(0.5)
    training.process.send_signal(signal.SIGTERM)
    assert training.finish() == 143, training.output[-3000:]
    status = evaluating.finish(timeout=300)  # It evaluates what is left, then times out.
  finally:
    for run in runs:
      if run.process.poll() is None:
        run.process.kill()
        run.finish()
  log = evaluating.output
  assert status == 0 and 'Traceback' not in log, log[-3000:]
  with open(os.path.join(str(eval_dir), 'eval_state.json')) as f:
    state = json.load(f)
  # It evaluated some checkpoints, the last training wrote (kept, never rotated away) among them...
  final = os.path.basename(tf.train.latest_checkpoint(str(train_dir)))
  assert state['evaluated'] and state['evaluated'][-1]['checkpoint'] == final, log[-3000:]
  # ...and what it skipped (rotated away before it could be read) it logged and recorded.
  skipped = set(re.findall(r'Skipping (model\.ckpt-\d+)', log))
  assert skipped and skipped == {entry['checkpoint'] for entry in state['skipped']}, log[-3000:]
