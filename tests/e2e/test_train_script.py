"""train_alexnet.py from the shell: bad input, a real short run, a clean stop on SIGTERM."""
import os
import signal
import time

import pytest
import tensorflow as tf

from support.scripts import assert_one_line_error
from support.scripts import run_script
from support.scripts import start_script


def test_missing_flags_and_bad_values_are_one_line_errors(records_dataset, tmp_path):
  """From the shell: a missing flag (absl's, found before TensorFlow loads) and a batch too large
  for the memory (resources', found once the graph is being built: the deepest of the trainer's
  UserErrors). The trainer's other checks (a bad split, a train_dir that is a file, a size the
  net cannot train at, ...) are the same UserError on the same way out, each tested in process
  (test_training: test_bad_settings_are_one_line_user_errors), where they cost no TensorFlow
  start-up of their own."""
  dataset_dir = records_dataset[0]
  assert_one_line_error(run_script('train_alexnet.py', '--train_dir=%s' % tmp_path),
                        '--dataset_dir')
  assert_one_line_error(run_script('train_alexnet.py', '--dataset_dir=' + dataset_dir,
                                   '--train_dir=%s' % tmp_path, '--batch_size=100000'),
                        '--batch_size=100000 needs about', 'GiB')


def small_run_flags(dataset_dir, train_dir, steps):
  return ['--dataset_dir=' + dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=2',
          '--max_number_of_steps=%d' % steps, '--num_readers=1',
          '--num_preprocessing_threads=1', '--log_every_n_steps=1']


@pytest.mark.slow
def test_a_short_run_from_the_shell_writes_a_checkpoint(records_dataset, tmp_path):
  # (No histograms, no momentum to save (half the checkpoint's 370 MB, which the evaluation
  # reads again): the run and the commands it prints are tested, not those.)
  result = run_script('train_alexnet.py', *small_run_flags(records_dataset[0], tmp_path, 2),
                      '--train_image_size=195', '--nosummarize_histograms', '--optimizer=sgd')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'step 2/2' in result.stderr and 'images/s' in result.stderr
  assert tf.train.latest_checkpoint(str(tmp_path)).endswith('model.ckpt-2')
  assert 'CPU only: no GPU visible' in result.stderr and '10 steps per epoch' in result.stderr
  assert 'layer.apply' not in result.stderr and 'closed FileWriter' not in result.stderr
  # The command it prints to evaluate the run works as printed.
  [evaluate] = [line.split('Evaluate it:', 1)[1].split() for line in result.stderr.splitlines()
                if 'Evaluate it:' in line]
  assert evaluate[:2] == ['python', 'eval_alexnet.py']
  evaluation = run_script('eval_alexnet.py', *evaluate[2:])
  assert evaluation.returncode == 0, evaluation.stderr[-3000:]
  assert 'accuracy' in evaluation.stderr
  assert 'alexnet_v2, 195 px (inception preprocessing), as run.json' in evaluation.stderr
  assert any(name.startswith('events.out') for name in os.listdir(str(tmp_path / 'eval')))


@pytest.mark.slow
@pytest.mark.parametrize('signum,status', [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_or_a_closed_terminal_saves_a_checkpoint_at_the_current_step(
    records_dataset, tmp_path, signum, status):
  # (No histograms, the smallest size the net takes, no momentum to save (half the checkpoint's
  # 370 MB): what is tested is the stop, not the steps.)
  process = start_script('train_alexnet.py',
                         *small_run_flags(records_dataset[0], tmp_path, 100000),
                         '--nosummarize_histograms', '--train_image_size=195', '--optimizer=sgd')
  output = []
  deadline = time.time() + 120
  for line in process.stdout:
    output.append(line)
    if 'step 3/' in line or time.time() > deadline:
      break
  process.send_signal(signum)
  rest, _ = process.communicate(timeout=120)
  log = ''.join(output) + rest
  assert process.returncode == status, log[-3000:]
  assert 'Received %s' % signal.Signals(signum).name in log
  assert 'rerun the same command to resume' in log
  newest = tf.train.latest_checkpoint(str(tmp_path))
  step = int(newest.rsplit('-', 1)[1])
  assert step >= 3
  assert os.path.exists(newest + '.index')


@pytest.mark.slow
def test_an_exploding_loss_stops_with_a_clear_message_and_finite_checkpoints(records_dataset,
                                                                             tmp_path):
  import numpy as np
  result = run_script('train_alexnet.py', *small_run_flags(records_dataset[0], tmp_path, 200),
                      '--learning_rate=1e12', '--optimizer=sgd', '--save_interval_secs=1')
  assert result.returncode == 2 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith('error: ') and 'NaN or Inf' in last_line, last_line
  newest = tf.train.latest_checkpoint(str(tmp_path))
  if newest:  # a checkpoint saved before the blow-up holds only finite values
    reader = tf.train.load_checkpoint(newest)
    for name in reader.get_variable_to_shape_map():
      value = reader.get_tensor(name)
      if np.issubdtype(np.asarray(value).dtype, np.floating):
        assert np.all(np.isfinite(value)), name


def test_stray_words_are_a_one_line_error_before_tensorflow_loads(records_dataset, tmp_path):
  """(A train_dir that is a file and a size the net cannot train at: in process, test_training.)"""
  base = ['--dataset_dir=' + records_dataset[0], '--train_dir=%s' % (tmp_path / 'run')]
  assert_one_line_error(run_script('train_alexnet.py', *base, '--use_batch_norm', 'false'),
                        'unexpected arguments false')
