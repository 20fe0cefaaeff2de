"""Nothing lost (issue 7): the trainer and the converter killed at random moments, damaged shards,
a garbled checkpoint state file, an exploding loss, bad input.

The evaluator's share is in test_faults_eval.py, the state file's repair in
training/test_resume.py. Slow tests run the scripts as a user would.
"""
import glob
import os
import random
import re
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

from base import UserError
from datasets import checks
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import reader
from datasets.convert import sources
from datasets.convert import writer
from rundir import checkpoints
from support import tf_helpers
from support.faults import Running
from support.faults import assert_last_line_error
from support.faults import damaged_copy
from support.faults import read_every_tensor
from support.faults import step_in_name
from support.faults import wait_for_file
from support.faults import write_state
from support.faults import write_tiny_checkpoints
from support.scripts import run_script
from training import saving
from training import trainer
from training.steps import StepFunction

CONVERT = 'download_and_convert_flowers.py'
TRAIN = 'train_alexnet.py'


# Training here is plain sgd without histograms: momentum's slots would double every checkpoint
# (370 MB, not 185; each save costs seconds, most of it system time), and no test here looks at
# how the weights move.
def train_config(dataset_dir, train_dir, **overrides):
  settings = dict(batch_size=2, max_number_of_steps=2, num_readers=1,
                  num_preprocessing_threads=1, log_every_n_steps=1, optimizer='sgd')
  settings.update(overrides)
  return tf_helpers.tiny_train_config(dataset_dir, train_dir, **settings)


def train_flags(dataset_dir, train_dir, steps, *extra):
  return ('--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=2',
          '--max_number_of_steps=%d' % steps, '--num_readers=1',
          '--num_preprocessing_threads=1', '--log_every_n_steps=1',
          '--nosummarize_histograms', '--optimizer=sgd') + extra


def first_step_recorder():
  """(starts, a step function for trainer.train noting there each run's first global step)."""
  starts = []

  class Recorder(StepFunction):
    def __call__(self, sess, train_op, global_step, kwargs):
      if self.step is None:
        starts.append(int(sess.run(global_step)))
      return super().__call__(sess, train_op, global_step, kwargs)

  return starts, Recorder


# --- interruption: the trainer ----------------------------------------------------------------

def _temp_saves(train_dir):
  """The files of checkpoint saves in progress (or cut short): TensorFlow's .tempstate files."""
  return glob.glob(os.path.join(str(train_dir), '*.tempstate*'))


@pytest.mark.slow
def test_sigkill_at_random_moments_and_mid_save_always_resumes_from_a_complete_checkpoint(
    records_dataset, tmp_path):
  rng = random.Random(7)
  flags = train_flags(records_dataset[0], tmp_path, 100000, '--save_interval_secs=1',
                      '--keep_checkpoint_max=2')
  named = None  # (name, global step) of the checkpoint the state file named at the last kill.
  killed_mid_save = 0
  for round_index in range(3):  # killed at a random moment, mid-save, at a random moment
    run = Running(TRAIN, *flags)
    first_step = int(run.wait_for(r'step (\d+)/').group(1))
    resumed = re.search(r'Resuming from (\S+)\.\n', run.output)
    if named is None:
      assert resumed is None and first_step == 1, run.output[-3000:]
    else:  # It resumed from that checkpoint, at its global step.
      assert resumed and resumed.group(1) == named[0], run.output[-3000:]
      assert first_step == named[1] + 1, run.output[-3000:]
    if round_index % 2:  # Kill while a checkpoint is being written.
      started = time.time()
      saving = wait_for_file(os.path.join(str(tmp_path), '*.tempstate*'), 60,
                             newer_than=started, process=run.process)
      assert saving, 'no checkpoint save started within 60 s:\n' + run.output[-3000:]
    else:  # (once a checkpoint is saved: a run starting fresh saves none at step 0)
      assert wait_for_file(os.path.join(str(tmp_path), 'checkpoint'), 60, process=run.process), \
          'no checkpoint saved within 60 s:\n' + run.output[-3000:]
      time.sleep(rng.uniform(0.2, 2.5))
    run.process.kill()
    assert run.finish() == -signal.SIGKILL
    killed_mid_save += bool(_temp_saves(tmp_path))

    state = tf.train.get_checkpoint_state(str(tmp_path))  # None when it does not parse
    assert state is not None and state.model_checkpoint_path
    prefix = state.model_checkpoint_path
    assert checkpoints.is_complete(prefix)
    # It loads. (Its global step can be ahead of its name: the Supervisor's timer reads the
    # step for the name, then saves while the training thread goes on.)
    step = read_every_tensor(prefix)
    assert step >= step_in_name(prefix)
    assert named is None or step >= named[1]  # Never behind the last run's.
    named = (prefix, step)
  assert killed_mid_save, 'no kill left a half-written save behind'

  # The leftovers of three killed runs are tolerated: a last run resumes and finishes cleanly.
  last = run_script(TRAIN, *train_flags(records_dataset[0], tmp_path, named[1] + 2,
                                        '--save_interval_secs=1', '--keep_checkpoint_max=2'))
  assert last.returncode == 0, last.stderr[-3000:]
  assert 'Resuming from %s.' % named[0] in last.stderr
  assert step_in_name(tf.train.latest_checkpoint(str(tmp_path))) == named[1] + 2


def test_the_saver_never_saves_the_named_checkpoint_again(tmp_path):
  # The Supervisor saves on a timer even when the step has not moved (right after a resume): a
  # rewrite cut short would leave new data beside the old index, and the step unloadable.
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    weights = tf.compat.v1.get_variable('w', [3], initializer=tf.compat.v1.zeros_initializer())
    saver = saving.StepSaver()
    prefix = os.path.join(str(tmp_path), 'model.ckpt')
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      first = saver.save(sess, prefix, global_step=global_step)
      with open(first + '.data-00000-of-00001', 'rb') as f:
        data = f.read()
      sess.run(weights.assign([1.0, 2.0, 3.0]))
      assert saver.save(sess, prefix, global_step=global_step) == first
      with open(first + '.data-00000-of-00001', 'rb') as f:
        assert f.read() == data
      sess.run(global_step.assign(1))
      assert saver.save(sess, prefix, global_step=global_step) == prefix + '-1'
  assert list(tf.train.load_checkpoint(prefix + '-1').get_tensor('w')) == [1.0, 2.0, 3.0]


def test_the_saver_replaces_a_checkpoint_a_killed_run_left_unnamed(tmp_path):
  write_tiny_checkpoints(tmp_path, [5, 10])
  write_state(tmp_path, 'model_checkpoint_path: "%s"\n' % os.path.join(str(tmp_path),
                                                                       'model.ckpt-5'))
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    tf.compat.v1.get_variable('tiny/w', [3], initializer=tf.compat.v1.zeros_initializer())
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(global_step.assign(10))
      saved = saving.StepSaver().save(sess, os.path.join(str(tmp_path), 'model.ckpt'),
                                           global_step=global_step)
  assert tf.train.latest_checkpoint(str(tmp_path)) == saved
  assert list(tf.train.load_checkpoint(saved).get_tensor('tiny/w')) == [0.0, 0.0, 0.0]


@pytest.mark.slow
def test_sigint_saves_a_checkpoint_at_the_current_step_and_exits_130(records_dataset, tmp_path):
  run = Running(TRAIN, *train_flags(records_dataset[0], tmp_path, 100000))
  run.wait_for(r'step 3/')
  run.process.send_signal(signal.SIGINT)
  status = run.finish()
  assert status == 130, run.output[-3000:]
  assert 'Received SIGINT' in run.output and 'Traceback' not in run.output
  stopped = int(re.search(r'Stopped at step (\d+); rerun the same command', run.output).group(1))
  newest = tf.train.latest_checkpoint(str(tmp_path))
  assert checkpoints.saved_step(newest) == stopped >= 3


# --- interruption: the converter --------------------------------------------------------------

def slow_photos(root, per_class=200):
  """Photos that take the converter a while: PNGs (each re-encoded as JPEG), hard links of one."""
  from PIL import Image
  os.makedirs(root)
  original = os.path.join(root, 'original.png')
  ramp = np.linspace(0, 255, 640 * 480 * 3).reshape(480, 640, 3).astype(np.uint8)
  Image.fromarray(ramp).save(original)
  for name in ('daisy', 'roses'):
    os.makedirs(os.path.join(root, name))
    for i in range(per_class):
      os.link(original, os.path.join(root, name, '%s_%03d.png' % (name, i)))
  os.remove(original)
  return str(root)


def _kill_once_a_shard_is_staged(dataset_dir, args):
  """Starts the converter, SIGKILLs it once it has written a shard (into its staging folder);
  returns the time of the kill."""
  run = Running(CONVERT, *args)
  first = wait_for_file(
      os.path.join(dataset_dir, dataset_utils.STAGING_DIRNAME, 'flowers_*.tfrecord'),
      120, process=run.process)
  run.process.kill()
  assert run.finish() == -signal.SIGKILL
  assert first, 'the converter wrote no shard before it ended:\n' + run.output[-3000:]
  assert os.path.isdir(dataset_utils.staging_dir(dataset_dir)) and \
      not dataset_utils.swap_interrupted(dataset_dir), 'the conversion finished: nothing was tested'
  return time.time()


@pytest.mark.slow
def test_a_converter_killed_mid_run_leaves_no_shard_and_an_earlier_dataset_whole(tmp_path):
  photos = slow_photos(tmp_path / 'photos')
  dataset_dir = str(tmp_path / 'data')
  args = ('--dataset_dir=' + dataset_dir, '--photos_dir=' + photos, '--num_validation=100',
          '--num_shards=5', '--num_workers=1')
  killed_at = _kill_once_a_shard_is_staged(dataset_dir, args)
  assert sorted(os.listdir(dataset_dir)) == sorted(  # Nothing half-written.
      [dataset_utils.STAGING_DIRNAME, sources.LOCK_FILENAME])
  with pytest.raises(UserError):  # Training never reads a half-written conversion.
    dataset_factory.get_dataset('flowers', 'train', dataset_dir)

  time.sleep(0.05)
  rerun = run_script(CONVERT, *args)
  assert rerun.returncode == 0, rerun.stderr[-3000:]
  assert 'no readable manifest.json' in rerun.stderr
  assert 'an unfinished conversion' in rerun.stderr
  manifest = dataset_utils.read_manifest(dataset_dir)
  assert manifest['splits']['train']['num_samples'] == 300
  # Every shard is the rerun's own: none kept from the killed run.
  for split in dataset_utils.SPLITS:
    for shard in manifest['splits'][split]['shards']:
      assert os.path.getmtime(os.path.join(dataset_dir, shard['file'])) > killed_at

  # A rebuild with other settings, killed: the complete dataset is as it was, and verifies.
  _kill_once_a_shard_is_staged(dataset_dir, args[:-2] + ('--num_shards=3', args[-1]))
  assert dataset_utils.read_manifest(dataset_dir) == manifest
  assert writer.up_to_date(dataset_dir, 'flowers', 5, 100, 0) == (True, '')
  assert dataset_factory.get_dataset('flowers', 'train', dataset_dir).num_samples == 300
  verify = run_script(CONVERT, '--dataset_dir=' + dataset_dir, '--verify')
  assert verify.returncode == 0, verify.stdout + verify.stderr[-2000:]


@pytest.mark.slow
def test_ctrl_c_during_a_rebuild_exits_130_and_keeps_the_earlier_dataset(tmp_path):
  from support.photo_fixtures import make_photos
  dataset_dir = str(tmp_path / 'data')
  writer.convert_photos(make_photos(tmp_path / 'small'), dataset_dir, num_validation=3,
                        num_shards=2, num_workers=1)
  before = {name: open(os.path.join(dataset_dir, name), 'rb').read()
            for name in os.listdir(dataset_dir)}
  run = Running(CONVERT, '--dataset_dir=' + dataset_dir,
                '--photos_dir=' + slow_photos(tmp_path / 'photos'), '--num_validation=100',
                '--num_workers=1')
  staged = wait_for_file(
      os.path.join(dataset_dir, dataset_utils.STAGING_DIRNAME, 'flowers_*.tfrecord'),
      120, process=run.process)
  run.process.send_signal(signal.SIGINT)
  assert run.finish() == 130, run.output[-3000:]
  assert staged, 'the converter wrote no shard before it ended:\n' + run.output[-3000:]
  assert run.output.strip().splitlines()[-1].startswith('interrupted: ' + dataset_dir)
  assert 'Traceback' not in run.output
  after = {name: open(os.path.join(dataset_dir, name), 'rb').read()
           for name in os.listdir(dataset_dir) if name != sources.LOCK_FILENAME}
  assert after == before


def test_a_split_with_a_missing_shard_is_never_read(records_dataset_copy):
  dataset_dir = records_dataset_copy[0]
  os.remove(os.path.join(dataset_dir, 'flowers_train_00001-of-00002.tfrecord'))
  with pytest.raises(UserError, match='train split .* incomplete.*'
                                      'flowers_train_00001-of-00002.tfrecord'):
    dataset_factory.get_dataset('flowers', 'train', dataset_dir)


def test_missing_shards_names_each_absent_shard_of_a_numbered_set():
  assert reader.missing_shards(['d/x_train_00000-of-00003.tfrecord',
                                'd/x_train_00002-of-00003.tfrecord']) == [
                                    'x_train_00001-of-00003.tfrecord']
  assert reader.missing_shards(['d/x_train_00000-of-00001.tfrecord']) == []


# --- corruption: shards -----------------------------------------------------------------------

@pytest.mark.parametrize('damage', ['flipped byte', 'truncated'])
def test_corrupt_shards_names_only_the_damaged_file(records_dataset, tmp_path, damage):
  dataset_dir, shard = damaged_copy(records_dataset[0], tmp_path / 'data', 'train', damage)
  paths = sorted(glob.glob(os.path.join(dataset_dir, '*.tfrecord')))
  found = checks.corrupt_shards(paths)
  assert [os.path.basename(path) for path, _ in found] == [shard]
  assert found[0][1].startswith(shard + ' is corrupt after ')


@pytest.mark.slow
@pytest.mark.parametrize('pipeline', ['queue', 'tf_data'])
def test_training_on_a_shard_with_a_flipped_byte_stops_naming_the_shard(records_dataset,
                                                                       tmp_path, pipeline):
  dataset_dir, shard = damaged_copy(records_dataset[0], tmp_path / 'data', 'train',
                                    'flipped byte')
  cfg = train_config(dataset_dir, tmp_path / 'train', max_number_of_steps=200,
                     input_pipeline=pipeline)
  with pytest.raises(UserError) as error:
    trainer.train(cfg)
  message = str(error.value)
  assert shard in message and 'corrupt' in message and '\n' not in message
  assert '--verify --dataset_dir=%s' % dataset_dir in message
  assert 'flowers_train_00000-of-00002' not in message  # The intact shard is not blamed.


@pytest.mark.slow
def test_train_script_on_a_truncated_shard_exits_2_naming_the_shard(records_dataset, tmp_path):
  dataset_dir, shard = damaged_copy(records_dataset[0], tmp_path / 'data', 'train', 'truncated')
  result = run_script(TRAIN, *train_flags(dataset_dir, tmp_path / 'train', 200))
  assert_last_line_error(result, shard, 'corrupt', '--verify')


@pytest.mark.slow
def test_verify_script_names_the_shard_with_a_flipped_byte(records_dataset, tmp_path):
  dataset_dir, shard = damaged_copy(records_dataset[0], tmp_path / 'data', 'validation',
                                    'flipped byte')
  result = run_script(CONVERT, '--dataset_dir=' + dataset_dir, '--verify')
  assert result.returncode == 1, result.stdout + result.stderr[-2000:]
  problems = [line for line in result.stdout.splitlines() if line.startswith('problem: ')]
  assert problems and all(shard in line for line in problems), result.stdout


@pytest.mark.slow
def test_training_with_a_garbled_state_file_resumes_instead_of_starting_over(
    records_dataset, tmp_path):
  starts, recorder = first_step_recorder()
  trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=2),
                step_function=recorder)
  write_state(tmp_path, 'model_checkpoint_path: {{ garbled')
  step, stopped = trainer.train(train_config(records_dataset[0], tmp_path,
                                             max_number_of_steps=3), step_function=recorder)
  assert (starts, step, stopped) == ([0, 2], 3, None)


@pytest.mark.slow
def test_resuming_a_train_dir_of_another_architecture_is_a_user_error(records_dataset,
                                                                       tmp_path):
  trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=1))
  with pytest.raises(UserError, match='model.ckpt-1 has no variable alexnet_v2/conv1/BatchNorm/'
                                      '.*new --train_dir'):
    trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=2,
                               model_name='alexnet_v2_bn'))


# --- NaN --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_loss_exploding_after_a_checkpoint_leaves_only_finite_checkpoints(records_dataset,
                                                                            tmp_path):
  trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=2))
  before = tf.train.latest_checkpoint(str(tmp_path))
  with pytest.raises(UserError, match='NaN or Inf.*lower --learning_rate'):
    trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=200,
                               learning_rate=1e12, save_interval_secs=1))
  newest = tf.train.latest_checkpoint(str(tmp_path))
  # Not vacuous: a checkpoint exists.
  assert checkpoints.saved_step(newest) >= checkpoints.saved_step(before) == 2
  reader = tf.train.load_checkpoint(newest)
  for name in reader.get_variable_to_shape_map():
    value = np.asarray(reader.get_tensor(name))
    if np.issubdtype(value.dtype, np.floating):
      assert np.all(np.isfinite(value)), name


# --- bad input --------------------------------------------------------------------------------

# (The trainer's, the converter's and the verifier's UserErrors below are asserted in process:
# each leaves its script the way test_train_script and test_convert_script see from the shell,
# one line and exit 2, without a TensorFlow start-up of its own here.)

def test_training_with_an_unknown_dataset_is_a_user_error(records_dataset, tmp_path):
  with pytest.raises(UserError, match=r'no train shards \(imagenet_train_'):
    trainer.train(train_config(records_dataset[0], tmp_path, dataset_name='imagenet'))


def test_training_with_a_negative_batch_size_is_a_user_error(records_dataset, tmp_path):
  with pytest.raises(UserError, match='--batch_size must be positive'):
    trainer.train(train_config(records_dataset[0], tmp_path, batch_size=-4))


def test_train_script_fine_tuning_from_another_architecture_exits_2(records_dataset, tmp_path):
  other = write_tiny_checkpoints(tmp_path / 'other', [3], scope='vgg_16/conv1')[0]
  result = run_script(TRAIN, *train_flags(records_dataset[0], tmp_path / 'train', 2,
                                          '--checkpoint_path=' + other))
  assert_last_line_error(result, other, 'has no variable alexnet_v2/')


def test_verifying_a_missing_folder_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='does not exist'):
    checks.verify_dataset(str(tmp_path / 'nowhere'))


def test_converting_into_zero_shards_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match='num_shards must be a whole number >= 1'):
    sources.download_and_convert(str(tmp_path / 'data'), synthetic=2, num_validation=2,
                                 num_shards=0)
  assert not os.path.exists(tmp_path / 'data')
