"""Nothing lost, part 2 (issue 15, items 2 and 3): a save the disk refuses never ends in success,
a full disk is one line naming the newest safe checkpoint, and the .tempstate files of saves cut
short do not pile up.

Full disks are small tmpfs mounts where the machine allows them (skipped with the reason where it
does not), or TensorFlow's error injected at the save.
"""
import glob
import os
import re
import signal
import threading
import types

import pytest
import tensorflow as tf
import tf_slim as slim

import base
from support import tf_helpers
from support.faults import tmpfs
from support.faults import write_tiny_checkpoints
from support.scripts import run_script
from training import saving
from training import trainer
from training.steps import StepFunction

TRAIN = 'train_alexnet.py'


def train_config(dataset_dir, train_dir, **overrides):
  settings = dict(batch_size=2, max_number_of_steps=2, num_readers=1,
                  num_preprocessing_threads=1, log_every_n_steps=1, optimizer='sgd')
  settings.update(overrides)
  return tf_helpers.tiny_train_config(dataset_dir, train_dir, **settings)


def temp_saves(folder):
  return sorted(os.path.basename(p) for p in glob.glob(os.path.join(str(folder), '*tempstate*')))


def no_space(path):
  """TensorFlow's error for a file it could not write on a full disk."""
  return tf.errors.ResourceExhaustedError(None, None, '%s; No space left on device' % path)


@pytest.fixture
def disk_full_after_step_1(monkeypatch):
  """Every save of a step after 1 fails as TensorFlow's does on a full disk, its half-written
  .tempstate file left behind."""
  original = tf.compat.v1.train.Saver.save

  def save(self, sess, save_path, global_step=None, **kwargs):
    if global_step > 1:
      temp = '%s-%d.data-00000-of-00001.tempstate%d' % (save_path, global_step, 8184964750)
      with open(temp, 'wb') as f:
        f.write(b'half a checkpoint')
      raise no_space(temp)
    return original(self, sess, save_path, global_step=global_step, **kwargs)

  monkeypatch.setattr(tf.compat.v1.train.Saver, 'save', save)


def stopping_at(stop_step, signum):
  """A step function for trainer.train that receives `signum` during step `stop_step`."""

  class Stopping(StepFunction):
    def __call__(self, sess, train_op, global_step, kwargs):
      loss, done = super().__call__(sess, train_op, global_step, kwargs)
      if self.step == stop_step:
        self.request_stop(signum)
      return loss, done or self.stop_signal is not None

  return Stopping


# --- item 2: a failed final save never ends in success ----------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize('stop', [None, signal.SIGTERM], ids=['at the end', 'SIGTERM'])
def test_a_final_save_the_disk_refuses_is_an_error_naming_the_newest_safe_checkpoint(
    records_dataset, tmp_path, disk_full_after_step_1, stop):
  # tf-slim's Supervisor drops the final save's error (its coordinator was told to stop already),
  # so training used to say "finished" (exit 0) or "stopped; rerun to resume" with nothing saved.
  trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=1))
  step_function = stopping_at(2, stop) if stop else StepFunction
  with pytest.raises(base.FileSystemError) as error:  # resumed from step 1
    trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=3),
                  step_function=step_function)
  message = str(error.value)
  final = 2 if stop else 3
  assert 'could not save the checkpoint of step %d: no space left on the disk holding %s' % (
      final, tmp_path) in message
  assert 'the newest safe checkpoint is %s (step 1), so %s lost' % (
      os.path.join(str(tmp_path), 'model.ckpt-1'),
      'step 2 is' if stop else 'steps 2-3 are') in message
  assert 'a checkpoint needs about ' in message and '(the size of model.ckpt-1)' in message
  assert ('stopped by SIGTERM at step 2, but ' in message) == bool(stop)
  assert '\n' not in message
  assert temp_saves(tmp_path) == []  # The failed save's half is removed at the failure.


def test_the_check_after_training_fails_when_the_final_checkpoint_is_not_on_disk(tmp_path):
  write_tiny_checkpoints(tmp_path, [0, 5])
  saving.check_final_save(str(tmp_path), saving.RunState(0, step=5))  # On disk: fine.
  saving.check_final_save(str(tmp_path / 'new'), saving.RunState(0))  # No step: nothing to save.
  reached_7 = saving.RunState(5, step=7)  # Training reached step 7, but it was not written.
  with pytest.raises(base.FileSystemError, match=r'the checkpoint of step 7 was not saved: no '
                     r'error was reported; the newest safe checkpoint is .*model\.ckpt-5 '
                     r'\(step 5\), so steps 6-7 are lost'):
    saving.check_final_save(str(tmp_path), reached_7)


@pytest.mark.slow
@pytest.mark.parametrize('size, lost', [
    ('260m', r'the newest safe checkpoint is \S+/model\.ckpt-1 \(step 1\), so step 2 is lost'),
    ('100m', r'no checkpoint is saved yet'),
], ids=['room for one checkpoint', 'room for none'])
def test_train_script_on_a_disk_that_fills_up_exits_3_naming_the_newest_safe_checkpoint(
    records_dataset, tmp_path, size, lost):
  # 260m has room for one checkpoint of alexnet_v2 (sgd: 177 MB) but not two: the script resumes
  # from step 1's. 100m has room for none: the event writer's thread and the final save fail.
  with tmpfs(tmp_path / 'disk', size) as disk:
    train_dir = os.path.join(disk, 'run')
    if size == '260m':
      trainer.train(train_config(records_dataset[0], train_dir, max_number_of_steps=1))
    result = run_script(TRAIN, '--dataset_dir=' + records_dataset[0], '--train_dir=' + train_dir,
                        '--batch_size=2', '--max_number_of_steps=2', '--num_readers=1',
                        '--num_preprocessing_threads=1', '--optimizer=sgd',
                        '--nosummarize_histograms')
    assert result.returncode == 3, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert re.match(r'error: could not save the checkpoint of step \d: no space left on the '
                    r'disk holding %s \(.* free\); a checkpoint needs about ' % re.escape(
                        train_dir), last), last
    assert re.search(lost, last), last
    assert temp_saves(train_dir) == []


# --- item 3: full disk at the start, in a summary write; leftovers of saves cut short ---------

@pytest.mark.slow
def test_a_disk_full_at_the_start_is_one_error_saying_what_is_full(records_dataset, tmp_path):
  with tmpfs(tmp_path / 'disk', '256k') as disk:  # Not even room for graph.pbtxt (800 KB).
    with pytest.raises(base.FileSystemError) as error:
      trainer.train(train_config(records_dataset[0], os.path.join(disk, 'run')))
  message = str(error.value)
  assert 'no space left on the disk holding %s' % os.path.join(disk, 'run') in message
  assert 'no checkpoint is saved yet' in message and 'free space' in message


@pytest.mark.slow
def test_a_summary_write_on_a_full_disk_is_one_error_with_the_newest_safe_checkpoint(
    records_dataset, tmp_path, monkeypatch):
  write_tiny_checkpoints(tmp_path, [4])  # What the run saved before its event file failed.
  events = os.path.join(str(tmp_path), 'events.out.tfevents.1.vm')

  def event_writer_failed(*args, **kwargs):
    # What tf-slim's train raises when TensorFlow's event writer thread died of a full disk.
    raise RuntimeError('%s; No space left on device\n\tFailed to flush 4 events to %s'
                       % (events, events))

  monkeypatch.setattr(slim.learning, 'train', event_writer_failed)
  with pytest.raises(base.FileSystemError) as error:
    trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=10),
                  check_resumable=lambda *args: None)  # a tiny checkpoint
  message = str(error.value)
  assert message.startswith('could not write %s: no space left on the disk holding %s'
                            % (events, tmp_path)), message
  assert 'the newest safe checkpoint is %s (step 4), nothing is lost' % os.path.join(
      str(tmp_path), 'model.ckpt-4') in message


LEFTOVERS = ['model.ckpt-10.data-00000-of-00001.tempstate8184964750159946397',
             'model.ckpt-10.index.tempstate4', 'model.ckpt-0.data-00000-of-00001.tempstate17']


def write_files(folder, names):
  os.makedirs(str(folder), exist_ok=True)
  for name in names:
    with open(os.path.join(str(folder), name), 'wb') as f:
      f.write(b'x' * 1000)


def test_only_tempstate_files_directly_in_the_folder_are_removed(tmp_path):
  train_dir = tmp_path / 'run'
  keep = ['notes.tempstate.txt', 'model.ckpt-10.tempstates', 'events.out.tfevents.1.vm']
  write_files(train_dir, LEFTOVERS + keep)
  write_files(train_dir / 'eval', ['model.ckpt-3.index.tempstate9'])
  write_files(tmp_path, ['sibling.tempstate5'])
  assert saving.remove_temp_saves(str(train_dir)) == (3, 3000)
  assert sorted(os.listdir(str(train_dir))) == sorted(keep + ['eval'])
  assert os.listdir(str(train_dir / 'eval')) == ['model.ckpt-3.index.tempstate9']
  assert os.path.exists(str(tmp_path / 'sibling.tempstate5'))


def test_a_glob_character_in_the_folder_does_not_reach_another_folder(tmp_path):
  write_files(tmp_path / 'run1', LEFTOVERS)
  os.makedirs(str(tmp_path / 'run[12]'))
  assert saving.remove_temp_saves(str(tmp_path / 'run[12]')) == (0, 0)
  assert len(os.listdir(str(tmp_path / 'run1'))) == 3


def test_the_next_start_removes_the_leftovers_of_saves_cut_short(records_dataset, tmp_path):
  write_tiny_checkpoints(tmp_path, [5])
  write_files(tmp_path, LEFTOVERS)
  step, _ = trainer.train(train_config(records_dataset[0], tmp_path, max_number_of_steps=5))
  assert step == 5  # Already there: nothing trained, but the leftovers went.
  assert temp_saves(tmp_path) == []


def test_a_thread_dying_of_a_full_disk_logs_one_line_not_a_traceback(caplog):
  import cli
  # TensorFlow's event writer thread re-raises its error; Python would print a traceback for
  # it, while the main thread reports the same error as the run's one line.
  passed_on = []
  hook = cli._thread_excepthook(passed_on.append)
  full = RuntimeError('/r/events.out.tfevents.1.vm; No space left on device\n\tFailed to flush '
                      '4 events to /r/events.out.tfevents.1.vm')
  bug = KeyError('x')
  for error in (full, bug):
    hook(types.SimpleNamespace(exc_type=type(error), exc_value=error, exc_traceback=None,
                               thread=threading.Thread(name='EventLoggerThread')))
  logged = [r.getMessage() for r in caplog.records if r.levelname == 'ERROR']
  assert logged == ['EventLoggerThread stopped: /r/events.out.tfevents.1.vm; No space left on '
                    'device']
  assert [args.exc_value for args in passed_on] == [bug]
