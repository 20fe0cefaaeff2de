"""Whether training's work reached the disk, and one line when it did not.

tf-slim's Supervisor swallows the error of the final save (it has already been told to stop, so
its coordinator drops the error), and a full disk or a read-only folder otherwise ends in screens
of traceback from several threads. SaveCheck follows a run (the folder, the step it reached, the
signal that stopped it, the saver's failed save) and turns either into one FileSystemError that
says what the file system refused, how much space a checkpoint needs, the newest safe checkpoint
and the steps lost.
"""
import contextlib
import errno
import os
import signal

from absl import logging

import base
from training import checkpoints

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def remove_leftovers(train_dir):
  """Removes the .tempstate files of saves cut short (a full disk, a second Ctrl-C, SIGKILL):
  each is as large as a checkpoint, and nothing ever reads them."""
  count, size = checkpoints.remove_temp_saves(train_dir)
  if count:
    logging.warning('Removed %d file(s) (%s) of checkpoint saves cut short in %s.', count,
                    base.format_bytes(size), train_dir)


class SaveCheck:
  """What a one-line error about training's files needs, filled in as the run goes."""

  def __init__(self, train_dir):
    self.train_dir = train_dir
    self.start_step = 0
    self.step_fn = None         # trainer.StepFunction: the step reached, the stop signal
    self.saver = None           # checkpoints.StepSaver: the save that failed
    self.variable_bytes = None  # the size of a checkpoint before one exists

  @property
  def final_step(self):
    step = self.step_fn.step if self.step_fn else None
    return self.start_step if step is None else step

  @contextlib.contextmanager
  def refusals(self):
    """Turns an error the file system caused (an OSError, TensorFlow's error naming the refused
    file) into a FileSystemError with the newest safe checkpoint."""
    try:
      yield
    except base.UserError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      refusal = base.file_system_refusal(e)
      if refusal is None:
        raise
      raise base.FileSystemError(self.message(refusal, e)) from None

  def check_final_save(self):
    """FileSystemError unless the checkpoint of the step training reached is on disk and
    TensorFlow reads it."""
    safe = checkpoints.newest_safe(self.train_dir)
    if safe and safe[0] >= self.final_step:
      return
    failure = self.saver.failure if self.saver else None
    error = failure[1] if failure else None
    refusal = base.file_system_refusal(error) if error is not None else None
    raise base.FileSystemError(self.message(refusal, error, lost=True))

  def message(self, refusal, error, lost=False):
    """'<what failed>: <what the file system said>; <the newest safe checkpoint, the steps
    lost>; <what to do>'."""
    failure = self.saver.failure if self.saver else None
    path = refusal[1] if refusal else None
    if failure and failure[0] is not None:  # A save failed: what the run set out to keep.
      head = 'could not save the checkpoint of step %d' % failure[0]
    elif lost:
      head = 'the checkpoint of step %d was not saved' % self.final_step
    elif path and not os.path.isdir(path):  # The cause names the folder; a file is worth it.
      head = 'could not write %s' % base.shorten_path(path)
    else:
      head = ''
    stop = self.step_fn.stop_signal if self.step_fn else None
    if stop is not None:
      head = 'stopped by %s at step %d%s' % (signal.Signals(stop).name, self.final_step,
                                            ', but ' + head if head else '')
    if refusal is None:
      cause = checkpoints.first_line(error) if error is not None else 'no error was reported'
    else:
      cause = base.describe_refusal(*refusal, folder=self.train_dir)
      if refusal[0] in _NO_SPACE:
        cause += '; a checkpoint needs about %s' % self._checkpoint_size()
    return '%s%s; %s; %s' % (head + ': ' if head else '', cause, self._lost_steps(),
                             _advice(refusal, self.train_dir))

  def _checkpoint_size(self):
    safe = checkpoints.newest_safe(self.train_dir)
    if safe:
      return '%s (the size of %s)' % (base.format_bytes(checkpoints.checkpoint_bytes(safe[1])),
                                     os.path.basename(safe[1]))
    if self.variable_bytes:
      return '%s (the size of the variables)' % base.format_bytes(self.variable_bytes)
    return 'as much as the variables'

  def _lost_steps(self):
    safe = checkpoints.newest_safe(self.train_dir)
    step, final = (safe[0] if safe else 0), self.final_step
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
