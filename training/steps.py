"""One training step as slim.learning.train runs it (its train_step_fn): the progress line,
images/s for TensorBoard, the summaries, and the clean stop at the last step or on a signal."""
import signal
import time

import tensorflow as tf
from absl import logging

import base

CHECK_EVERY_SECS = 1.0  # checking(): how often a step looks (the dataset's files: a few stats)


class StepFunction:
  """slim.learning.train's train_step_fn: one step, a progress line every n steps, images/s to
  TensorBoard, and a clean stop at max_steps or on SIGINT/SIGTERM (slim then saves).

  summary_op (set by the trainer): written at the run's first step and then every
  save_summaries_secs, fetched in the same run as the train op. So it sees the batch the step
  trains on and never runs the input or the net's random ops a second time (slim's summary
  thread runs them on its own clock, and so shifts the batches and random numbers training
  gets). clock: time.monotonic, or a fake of it.
  """

  def __init__(self, log_tensors, batch_size, max_steps, log_every_n_steps):
    self.log_tensors = log_tensors
    self.batch_size = batch_size
    self.max_steps = max_steps
    self.log_every_n_steps = log_every_n_steps
    self.stop_signal = None
    self.step = None
    self._logged_step = None  # in a cluster a worker may start two steps at one global step
    self._progress = None  # counts images, from the step training started (or resumed) at
    self.in_cluster = False   # other workers move the global step too
    self.release_op = None    # sync replicas: tokens that free a worker waiting at the end
    self.summary_op = None
    self.save_summaries_secs = None
    self.clock = time.monotonic
    self._summarized_at = None  # the clock when summaries were last written

  def request_stop(self, signum, frame=None):
    """The first SIGINT/SIGTERM stops after this step, with a checkpoint; a second one kills."""
    del frame
    self.stop_signal = signum
    signal.signal(signum, signal.SIG_DFL)
    logging.info('Received %s: saving a checkpoint and stopping (send it again to stop at once, '
                 'without saving).', signal.Signals(signum).name)

  def __call__(self, sess, train_op, global_step, kwargs):
    step = sess.run(global_step)
    if self.in_cluster and self.max_steps and step >= self.max_steps:  # others got there
      self.step = step
      return self._finish(sess, None)
    if self._progress is None:
      total = self.max_steps * self.batch_size if self.max_steps else None
      self._progress = base.Progress(total, done=step * self.batch_size)
    writer = kwargs.get('summary_writer')
    log = (step + 1) % self.log_every_n_steps == 0 and step + 1 != self._logged_step
    summarize = self._summaries_due(writer)
    fetches = [train_op, self.log_tensors if log else {}]
    if summarize:
      fetches.append(self.summary_op)
    results = sess.run(fetches)
    loss = results[0]
    if log:
      # The train op gives the loss it differentiates (the cross entropy: the weight decay goes
      # into the gradients); the line shows log_tensors' total with the regularization, when
      # there is one. (Its regularization may read the weights before or after this update.)
      self._log(step + 1, results[1].get('loss', loss), results[1], writer)
      self._logged_step = step + 1
    if summarize:
      writer.add_summary(results[2], step + 1)
    self.step = sess.run(global_step) if self.in_cluster else step + 1
    done = self.max_steps is not None and self.step >= self.max_steps
    if done or self.stop_signal is not None:
      return self._finish(sess, loss)
    return loss, False

  def _summaries_due(self, writer):
    """True at the first step and when save_summaries_secs have passed since the last write."""
    if self.summary_op is None or writer is None:  # (a worker that is not the chief: None)
      return False
    now = self.clock()
    if self._summarized_at is not None and now - self._summarized_at < self.save_summaries_secs:
      return False
    self._summarized_at = now
    return True

  def _finish(self, sess, loss):
    if self.release_op is not None:
      try:
        sess.run(self.release_op)
      except tf.errors.CancelledError:  # the chief has closed the token queue: nobody waits
        pass
    return loss, True

  def _log(self, step, loss, values, writer):
    progress = self._progress
    progress.done = step * self.batch_size
    rate = progress.rate()
    total = '/%d' % self.max_steps if self.max_steps else ''
    logging.info('step %d%s  loss %.4f  batch accuracy %.3f  lr %.5g  %s', step, total, loss,
                 values['accuracy'], values['learning_rate'], progress.rate_and_eta())
    progress.lap()
    if writer is not None:
      writer.add_summary(tf.compat.v1.Summary(value=[
          tf.compat.v1.Summary.Value(tag='images_per_sec', simple_value=rate)]), step)


def checking(train_step_fn, check, every_secs=CHECK_EVERY_SECS, clock=time.monotonic):
  """train_step_fn calling check() before a step, at most once every every_secs (and before the
  first): check raises to stop the run."""
  due = [None]

  def step(sess, train_op, global_step, kwargs):
    now = clock()
    if due[0] is None or now >= due[0]:
      check()
      due[0] = now + every_secs
    return train_step_fn(sess, train_op, global_step, kwargs)
  return step
