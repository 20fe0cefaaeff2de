"""Saving training's checkpoints, and knowing whether the work reached the disk.

StepSaver is the Saver training uses: it never rewrites a checkpoint in place, and it keeps the
error of a save that failed. tf-slim's Supervisor swallows the error of the final save (it has
already been told to stop, so its coordinator drops the error), and a full disk or a read-only
folder otherwise ends in screens of traceback from several threads. A run's RunState (the step
it reached, the signal that stopped it, the saver's failed save) turns either into one
FileSystemError that says what the file system refused, how much space a checkpoint needs, the
newest safe checkpoint and the steps lost. The .tempstate files of saves cut short (each as large
as a checkpoint) are removed at the failure and at the next start.
"""
import collections
import contextlib
import errno
import glob
import numbers
import os
import re
import signal
import threading

import tensorflow as tf
from absl import logging

import base
from rundir import checkpoints
from training import resume

# What TensorFlow's saver names the files of a save in progress (<file>.tempstate<random>); a save
# cut short (a full disk, SIGKILL) leaves them behind, the size of a whole checkpoint.
_TEMP_SAVE = re.compile(r'\.tempstate\d+$')


def remove_temp_saves(folder, prefix=None):
  """Removes the leftovers of checkpoint saves cut short in `folder` (not below it): files named
  <name>.tempstate<digits>, only those of `prefix` when given. Returns (count, bytes) removed.
  Only the process that owns the folder may call this: it deletes a save in progress."""
  pattern = glob.escape(prefix) + '.*' if prefix else os.path.join(glob.escape(folder), '*')
  count = size = 0
  for path in glob.glob(pattern + '.tempstate*'):
    if not _TEMP_SAVE.search(path) or os.path.islink(path) or not os.path.isfile(path):
      continue
    try:
      file_size = os.path.getsize(path)
      os.remove(path)
    except FileNotFoundError:
      continue
    count += 1
    size += file_size
  return count, size


def checkpoint_bytes(prefix):
  """The bytes a checkpoint's files (.index, .data-*, .meta) take on disk."""
  total = 0
  for path in glob.glob(glob.escape(prefix) + '.*'):
    if checkpoints.strip_suffix(path) == prefix:  # .index, .meta, .data-*: not .tempstate
      try:
        total += os.path.getsize(path)
      except OSError:
        continue
  return total


class StepSaver(tf.compat.v1.train.Saver):
  """A Saver that never rewrites a checkpoint in place.

  The Supervisor saves on a timer, also when the global step has not moved (right after a
  resume, or during a slow step). Rewriting model.ckpt-<step> in place replaces its data file,
  then its index: cut short between the two (SIGKILL), the old index describes the new data and
  the checkpoint no longer loads. So the checkpoint the state file names is never saved again
  (it is of the same step), and any other one of that name (left by a killed run) loses its
  index before it is rewritten, so it is never taken for complete. Saves are taken one at a
  time (the timer's and the final one), so the state file ends naming the newest step.

  The weights a run starts from are not saved (start_step: the step it starts or resumes
  from): a resumed run's are its checkpoint already, and a new run's (initialized, or restored
  for fine-tuning) are made again by starting it again. The Supervisor's timer saves at once when
  the session starts; that save was a whole checkpoint (370 MB for alexnet_v2 with momentum)
  that no one needs, written while the first steps ran.

  A save that fails (a full disk) leaves its error in `failure` ((step, error)) and its
  .tempstate files removed: tf-slim's Supervisor swallows the error of the final save, so the
  trainer looks here and on disk. before_save(), when given, is called first and may raise to
  refuse the save (the trainer's: the dataset changed under the run, so the weights may have
  learnt from other photos).

  The state file names the checkpoints relative to the folder, so a copied or moved run folder
  keeps naming its own; and of the checkpoints the Supervisor recovers from the state file (the
  ones rotation deletes), those outside `folder` (the training folder) are dropped: a copy never
  deletes the original's checkpoints.
  """

  def __init__(self, *args, folder=None, before_save=None, start_step=None, **kwargs):
    kwargs.setdefault('save_relative_paths', True)
    super().__init__(*args, **kwargs)
    self._start_step = start_step
    self._save_lock = threading.Lock()
    self._folder = folder
    self._before_save = before_save
    self.failure = None

  def recover_last_checkpoints(self, checkpoint_paths):
    if self._folder is not None:
      outside = [p for p in checkpoint_paths if not checkpoints.is_inside(self._folder, p)]
      if outside:
        logging.warning('Not rotating %d checkpoint(s) outside %s, such as %s: the state file '
                        'names them, but only the training folder\'s own are deleted.',
                        len(outside), self._folder, outside[0])
      checkpoint_paths = [p for p in checkpoint_paths if p not in outside]
    super().recover_last_checkpoints(checkpoint_paths)

  def save(self, sess, save_path, global_step=None, latest_filename=None, **kwargs):
    with self._save_lock:
      if self._before_save is not None:
        self._before_save()
      step = None
      try:
        if global_step is not None:
          step = (int(global_step) if isinstance(global_step, numbers.Integral)
                  else tf.compat.v1.train.global_step(sess, global_step))
          prefix = '%s-%d' % (save_path, step)
          if step == self._start_step:
            return None
          named = tf.train.latest_checkpoint(os.path.dirname(prefix) or '.', latest_filename)
          if named and os.path.abspath(named) == os.path.abspath(prefix):
            return prefix
          if os.path.exists(prefix + '.index'):
            os.remove(prefix + '.index')
          global_step = step  # The name's step, read once.
        return super().save(sess, save_path, global_step=global_step,
                            latest_filename=latest_filename, **kwargs)
      except Exception as e:
        self.failure = (step, e)
        prefix = save_path if step is None else '%s-%d' % (save_path, step)
        remove_temp_saves(os.path.dirname(prefix) or '.', prefix)
        raise


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def remove_leftovers(train_dir):
  """Removes the .tempstate files of saves cut short (a full disk, a second Ctrl-C, SIGKILL):
  each is as large as a checkpoint, and nothing ever reads them."""
  count, size = remove_temp_saves(train_dir)
  if count:
    logging.warning('Removed %d file(s) (%s) of checkpoint saves cut short in %s.', count,
                    base.format_bytes(size), train_dir)


class RunState(collections.namedtuple(
    'RunState', 'start_step step stop_signal failure variable_bytes',
    defaults=(0, None, None, None, None))):
  """What a one-line error about training's files needs, as a run reached it: the step it
  started (or resumed) from, the step its step function reached (None: none ran), the signal
  that stopped it, the saver's failed save (StepSaver.failure) and the size of the variables (a
  checkpoint's before one exists)."""

  @property
  def final_step(self):
    return self.start_step if self.step is None else self.step


@contextlib.contextmanager
def refusals(train_dir, run_state=RunState):
  """Turns an error the file system caused (an OSError, TensorFlow's error naming the refused
  file) into a FileSystemError with the newest safe checkpoint; run_state() is the run's
  RunState at the error."""
  try:
    yield
  except base.UserError:
    raise
  except Exception as e:  # pylint: disable=broad-except
    refusal = base.file_system_refusal(e)
    if refusal is None:
      raise
    raise base.FileSystemError(message(train_dir, run_state(), refusal, e)) from None


def check_final_save(train_dir, state):
  """FileSystemError unless the checkpoint of the step training reached (RunState state) is on
  disk and TensorFlow reads it. A run that took no step has nothing to save (StepSaver)."""
  if state.final_step == state.start_step:
    return
  safe = resume.newest_safe(train_dir)
  if safe and safe[0] >= state.final_step:
    return
  error = state.failure[1] if state.failure else None
  refusal = base.file_system_refusal(error) if error is not None else None
  raise base.FileSystemError(message(train_dir, state, refusal, error, lost=True))


def message(train_dir, state, refusal, error, lost=False):
  """'<what failed>: <what the file system said>; <the newest safe checkpoint, the steps
  lost>; <what to do>'."""
  failure = state.failure
  path = refusal[1] if refusal else None
  if failure and failure[0] is not None:  # A save failed: what the run set out to keep.
    head = 'could not save the checkpoint of step %d' % failure[0]
  elif lost:
    head = 'the checkpoint of step %d was not saved' % state.final_step
  elif path and not os.path.isdir(path):  # The cause names the folder; a file is worth it.
    head = 'could not write %s' % base.shorten_path(path)
  else:
    head = ''
  if state.stop_signal is not None:
    head = 'stopped by %s at step %d%s' % (signal.Signals(state.stop_signal).name,
                                          state.final_step, ', but ' + head if head else '')
  if refusal is None:
    cause = base.first_line(error) if error is not None else 'no error was reported'
  else:
    cause = base.describe_refusal(*refusal, folder=train_dir)
    if refusal[0] in _NO_SPACE:
      cause += '; a checkpoint needs about %s' % _checkpoint_size(train_dir, state)
  return '%s%s; %s; %s' % (head + ': ' if head else '', cause, _lost_steps(train_dir, state),
                           _advice(refusal, train_dir))


def _checkpoint_size(train_dir, state):
  safe = resume.newest_safe(train_dir)
  if safe:
    return '%s (the size of %s)' % (base.format_bytes(checkpoint_bytes(safe[1])),
                                   os.path.basename(safe[1]))
  if state.variable_bytes:
    return '%s (the size of the variables)' % base.format_bytes(state.variable_bytes)
  return 'as much as the variables'


def _lost_steps(train_dir, state):
  safe = resume.newest_safe(train_dir)
  step, final = (safe[0] if safe else 0), state.final_step
  newest = ('the newest safe checkpoint is %s (step %d)' % (safe[1], step) if safe
            else 'no checkpoint is saved yet')
  if final <= step:
    return newest if safe is None else newest + ', nothing is lost'
  lost = 'step %d is' % final if final == step + 1 else 'steps %d-%d are' % (step + 1, final)
  return '%s, so %s lost' % (newest, lost)


def _advice(refusal, train_dir):
  code = refusal[0] if refusal else None
  if code in _NO_SPACE:
    return ('free space (or give a --train_dir on another disk) and rerun the same command to '
            'resume')
  if code == errno.ENAMETOOLONG:
    return 'give a --train_dir with shorter names'
  if code in (errno.EROFS, errno.EACCES, errno.EPERM):
    return 'make %s writable or give another --train_dir' % train_dir
  return 'rerun the same command to resume'
