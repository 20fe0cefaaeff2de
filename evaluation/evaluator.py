"""Evaluation of checkpoints alongside training, in the manner of slim.evaluation.evaluation_loop.

Each checkpoint is evaluated over exactly one pass of a split (the input pipeline raises
OutOfRangeError after the last, possibly smaller, batch) with streaming metrics: a fresh graph
per checkpoint, tf-slim's evaluate_once (MonitoredSession: restore, queue runners, update ops
until the data runs out, final values). Then, at the checkpoint's global step, eval_dir gets
scalar summaries, a confusion-matrix heat map, a grid of validation images (mistakes first) and
its twin with each image's Grad-CAM, the split's first photos (the same at every checkpoint) with
Grad-CAM and conv1/conv5 maps, a text table, PR curves and a reliability diagram, and the fc7
features of a seeded sample of the images for the embedding projector (evaluation.results,
evaluation.pass_record); and a file of every number of the step, every class and the whole
confusion matrix (evaluation.results_file). What a pass keeps of its images is bounded: counts,
the grid's thumbnails and the projector's sample, whatever the size of the split.

The loop (`evaluate`, through evaluation.eval_loop) takes every checkpoint of the training
folder in global-step order, not only the newest, and remembers the last evaluated step in
eval_dir/eval_state.json, so a restarted evaluator goes on where it stopped. The state also
notes each step's summaries as soon as they are written, so a rerun (after a failed projector
write, or --once again) never writes a step's summaries twice. It ends when --timeout seconds
pass without a new checkpoint, or after the checkpoint of the training's last step. A checkpoint
that training's rotation deletes between discovery and restore (tensorflow#39033) is logged and
skipped. A dataset converted again under the evaluator (datasets.identity) stops it with one
line, before a pass or after it, before anything of that pass is written.

Nothing is ever written into the training folder. Nothing here reads flags.
"""
import dataclasses
import functools
import os

import numpy as np
import tensorflow as tf
from absl import logging
from tf_slim.training import evaluation as slim_evaluation

import base
from base import UserError
from datasets import checks
from datasets import dataset_factory
from datasets import identity
from datasets import input_pipeline as input_pipeline_lib
from datasets import reader
from evaluation import eval_config
from evaluation import eval_graph
from evaluation import eval_loop
from evaluation import eval_state
from evaluation import metrics
from evaluation import pass_record
from evaluation import results
from evaluation import results_file
from evaluation import results_table
from evaluation import training_run
from rundir import checkpoints
from rundir import run_info
from rundir import session
from summaries import events
from summaries import projector

LOCK_FILENAME = '.eval.lock'
LOG_EVERY_SECS = 10.0    # progress lines during a pass


# --- settings ------------------------------------------------------------------------------------

def validate(config):
  """One-line UserErrors for settings that can never work: eval_config.check_settings (ranges,
  choices, settings that do not go together, the folders' names), then the net's image size and
  the eval_dir against the training folder."""
  eval_config.check_settings(config)
  if config.model_name:  # (else the net run.json names: training_run.with_net checks the size)
    run_info.net_settings(None, config.model_name, config.eval_image_size, 'eval_image_size')
  check_eval_dir(config.checkpoint_path, config.eval_dir)


def check_eval_dir(checkpoint_path, eval_dir):
  """eval_dir must not be the training folder (a subfolder of it is fine: TensorBoard then shows
  train and eval as two runs)."""
  train_dir = checkpoints.train_dir_of(checkpoint_path)
  if os.path.realpath(eval_dir) == os.path.realpath(train_dir or '.'):
    raise UserError('--eval_dir=%s is the training folder; give the evaluation a folder of its '
                    'own, e.g. --eval_dir=%s' % (eval_dir, os.path.join(train_dir or '.', 'eval')))
  projector.check_log_dir(eval_dir)  # Another training folder: refused before any summary.


# --- one pass ------------------------------------------------------------------------------------

class _PassHook(tf.compat.v1.train.SessionRunHook):
  """Fetches the per-batch arrays with each update, adds them to self.record (a bounded
  evaluation.pass_record.PassRecord: the calibration's counts, the grid's images, the
  projector's sample), hands them to on_batch when given, logs progress, and notes whether the
  session got as far as restoring the checkpoint."""

  def __init__(self, collect, total, name, record, keep_features, on_batch=None):
    self.collect = collect
    self.total = total
    self.name = name
    self.record = record
    self.keep_features = keep_features
    self.on_batch = on_batch
    self.restored = False
    self._progress = None

  def after_create_session(self, session, coord):
    del session, coord
    self.restored = True
    self._progress = base.Progress(self.total)

  def before_run(self, run_context):
    fetches = dict(self.collect)
    if not self.keep_features:
      del fetches['features']
    return tf.compat.v1.train.SessionRunArgs(fetches)

  def after_run(self, run_context, run_values):
    values = run_values.results
    self.record.add(values)
    if self.on_batch is not None:
      self.on_batch(values)
    self._progress.advance(len(values['labels']))
    if self._progress.due(LOG_EVERY_SECS):
      logging.info('%s: %s', self.name, self._progress.line())


def _restore_failed_by_race(error, checkpoint):
  return isinstance(error, tf.errors.NotFoundError) or not checkpoints.exists(checkpoint)


def _run_pass(config, dataset, checkpoint, graph, pass_hook, hooks):
  """The final metric values of one pass, or None when the checkpoint vanished before the
  session restored it."""
  scaffold = tf.compat.v1.train.Scaffold(
      saver=tf.compat.v1.train.Saver(graph.variables_to_restore))
  logging.info('Evaluating %s on the %s split (%d images).', checkpoint,
               dataset.split_name, dataset.num_samples)
  try:
    return slim_evaluation.evaluate_once(
        checkpoint, scaffold=scaffold, eval_ops=graph.update_op, final_ops=graph.values,
        hooks=[pass_hook] + list(hooks),
        config=session.eval_session_config(config.eval_device))
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
    if pass_hook.restored and isinstance(e, tf.errors.DataLossError):
      damaged = checks.damaged_shards_error(dataset.data_sources, config.dataset_dir,
                                            config.dataset_name)
      if damaged:
        raise damaged from None
    if (not pass_hook.restored and isinstance(e, tf.errors.DataLossError)
        and checkpoints.exists(checkpoint)):  # Its data files are damaged, not rotated away.
      raise checkpoints.CheckpointDamaged('checkpoint %s cannot be read: %s' % (
          checkpoint, base.first_line(e))) from None
    if pass_hook.restored or not _restore_failed_by_race(e, checkpoint):
      raise
    logging.warning('Skipping %s: it vanished before it could be restored (rotated away by '
                    'training?): %s', pass_hook.name, base.first_line(e))
    return None


def _check_dataset(config, dataset, name):
  """UserError when the dataset was converted again since evaluate opened it (a pass would
  count other photos under its classes and sizes): nothing of the checkpoint is written."""
  changed = identity.changed_error(dataset, 'evaluating', (
      'nothing of %s was written, and the results in %s so far are of the dataset it started '
      'on; evaluate the new one into a new --eval_dir' % (name, config.eval_dir)))
  if changed is not None:
    raise changed


def _eval_result(values, checkpoint, class_names, k, split_name):
  confusion = np.asarray(values['confusion_matrix'], np.int64)
  if not confusion.sum():  # The manifest counted images the shards do not hold.
    raise UserError('the pass over the %s split read no images: its shards hold no records; '
                    'convert the photos again' % split_name)
  precision, recall, mean_per_class = metrics.class_metrics(confusion)
  return results.EvalResult(
      checkpoint=checkpoint, step=int(values['global_step']), class_names=class_names,
      confusion_matrix=confusion, accuracy=float(values['accuracy']),
      loss=float(values['loss']), recall_at_k=float(values['recall_at_k']),
      k=k, precision=precision, recall=recall, mean_per_class_accuracy=mean_per_class)


def _write_summaries_once(config, writer, result, table, record, state, stored):
  """The summaries of the result's step (with the run's HParams session the first time: stored,
  its RunInfo) and its results file (evaluation.results_file), unless eval_dir's state (when
  given) says they are written; the state notes them at once, before the projector."""
  if state is not None and eval_state.summaries_written(state, result.step):
    logging.info('The summaries of step %d are already in %s; not writing them again.',
                 result.step, config.eval_dir)
    return
  path = results_file.write(config.eval_dir, result, table.split_name)
  logging.info('Every class and the whole confusion matrix of step %d: %s', result.step, path)
  training_run.write_session_once(writer, state, stored)
  results.write_summaries(writer, result, table, record, config.grid_images)
  if state is not None:
    eval_state.record_summaries(config.eval_dir, state, result.step)


def evaluate_checkpoint(config, dataset, checkpoint, writer, write_embedding=True, hooks=(),
                        state=None, on_pass=None, on_batch=None,
                        write_projector=pass_record.write_embedding_projector,
                        build_batches=input_pipeline_lib.build_batches):
  """Evaluates one checkpoint over one pass of the split and writes its summaries (unless
  state, eval_dir's eval_state.load_eval_state, says they are written already).

  Returns an EvalResult, or None when the checkpoint vanished before it was restored;
  checkpoints.CheckpointDamaged when it is there but cannot be read, or its logits are not
  finite. on_pass(result, record), when given, is called at the end with the EvalResult and
  the pass's pass_record.PassRecord (bounded: the calibration's counts, the grid's images, the
  projector's sample); on_batch(values), with each batch's fetched arrays (labels, predictions,
  probabilities, filenames, thumbnails, ...) as the pass goes. write_projector(eval_dir,
  result, record) writes the projector's files of the sample; build_batches makes the input
  pipeline (input_pipeline_lib.build_batches). The net: training_run.with_net.
  """
  config, stored = training_run.with_net(config, checkpoint)
  class_names = base.class_names(dataset.labels_to_names, dataset.num_classes)
  name = os.path.basename(checkpoint)
  _check_dataset(config, dataset, name)
  with tf.Graph().as_default():
    graph = eval_graph.build_eval_graph(config, dataset, build_batches)
    try:
      checkpoints.check_evaluable(checkpoint, graph.variables_to_restore, config.model_name)
    except checkpoints.CheckpointGone as e:
      logging.warning('Skipping %s: it is gone (rotated away by training?): %s', name, e)
      return None
    record = pass_record.PassRecord(
        grid_images=config.grid_images, embedding_size=config.embedding_size,
        seed=config.embedding_seed, num_classes=dataset.num_classes)
    pass_hook = _PassHook(graph.collect, dataset.num_samples, name, record,
                          keep_features=write_embedding, on_batch=on_batch)
    try:
      values = _run_pass(config, dataset, checkpoint, graph, pass_hook, hooks)
    except tf.errors.OpError:  # a shard gone, a label out of range: the dataset changed?
      _check_dataset(config, dataset, name)
      raise
    if values is None:
      return None
  _check_dataset(config, dataset, name)  # the pass read only the dataset evaluate opened
  if not np.isfinite(values['loss']):  # no numbers, pictures or projector to make of it
    raise checkpoints.CheckpointDamaged('checkpoint %s gives logits that are not finite (inf or '
                                        'nan): its weights are damaged' % name)

  result = _eval_result(values, checkpoint, class_names, graph.k, dataset.split_name)
  pass_hook.record.fixed_photos = values.get('fixed_photos')
  table = results_table.results_table(result, dataset.split_name, config.eval_dir)
  logging.info('%s', table.text())
  if result.num_examples != dataset.num_samples:
    logging.warning('The pass counted %d images but the dataset says the %s split has %d; is '
                    'its manifest out of date?', result.num_examples, dataset.split_name,
                    dataset.num_samples)
  _write_summaries_once(config, writer, result, table, pass_hook.record, state, stored)
  if write_embedding and pass_hook.record.features:
    write_projector(config.eval_dir, result, pass_hook.record)
    result.embedding_written = True
  if on_pass is not None:
    on_pass(result, pass_hook.record)
  return result


# --- the loop ------------------------------------------------------------------------------------

def evaluate(config, hooks=(), on_pass=None, on_batch=None,
             write_projector=pass_record.write_embedding_projector,
             list_checkpoints=checkpoints.list_checkpoints,
             build_batches=input_pipeline_lib.build_batches):
  """Evaluates one checkpoint (once, or checkpoint_path is a prefix) or every checkpoint of the
  training folder as it appears. Returns the EvalResults in the order evaluated.

  hooks: extra SessionRunHooks given to every evaluation.
  on_pass, on_batch, write_projector, build_batches: see evaluate_checkpoint.
  list_checkpoints(folder): [(step, prefix)] of the checkpoints the loop finds there, oldest
  first (checkpoints.list_checkpoints).
  """
  validate(config)
  dataset = dataset_factory.get_dataset(config.dataset_name, config.dataset_split_name,
                                        config.dataset_dir)
  reader.check_split_has_images(dataset, 'evaluate')
  if not config.full_image:  # (which takes one photo at a time)
    config = dataclasses.replace(config, batch_size=reader.batch_for_split(
        config.batch_size, dataset.num_samples))
  session.eval_model_device(config.eval_device)  # UserError now for gpu without a GPU
  if config.full_image and config.batch_size != 1:
    logging.info('--full_image classifies one whole photo at a time (batch size 1).')
  checkpoint_path = checkpoints.strip_suffix(config.checkpoint_path)
  once = config.once or checkpoints.exists(checkpoint_path)
  if not once:
    checkpoints.check_not_a_missing_checkpoint(checkpoint_path)
  checkpoint = checkpoints.resolve(checkpoint_path) if once else None
  tf.io.gfile.makedirs(config.eval_dir)
  base.check_writable(config.eval_dir)  # Not after a whole pass (or hours of waiting).
  evaluate_one = functools.partial(evaluate_checkpoint, hooks=hooks, on_pass=on_pass,
                                   on_batch=on_batch, write_projector=write_projector,
                                   build_batches=build_batches)
  with base.folder_lock(config.eval_dir, LOCK_FILENAME, 'an evaluation'):
    return _evaluate_locked(config, dataset, checkpoint_path, checkpoint, evaluate_one,
                            list_checkpoints)


def _evaluate_locked(config, dataset, checkpoint_path, checkpoint, evaluate_one,
                     list_checkpoints):
  """One checkpoint (when given) or the loop over checkpoint_path, writing to eval_dir, each
  with evaluate_one (evaluate_checkpoint with the caller's hooks)."""
  writer = events.make_writer(config.eval_dir)
  try:
    if checkpoint:
      train_dir = checkpoints.train_dir_of(checkpoint)
      state = eval_state.load_eval_state(config.eval_dir, train_dir, claim=False,
                                          run_id=run_info.run_id_of(train_dir))
      try:
        result = evaluate_one(config, dataset, checkpoint, writer,
                              write_embedding=eval_loop.wants_embedding(config, 0, 0), state=state)
      except checkpoints.CheckpointDamaged as e:
        raise UserError('%s; evaluate another checkpoint (--checkpoint_path=<prefix>)' % e)
      if result is None:
        raise UserError('checkpoint %s disappeared before it could be read; run again'
                        % checkpoint)
      return [result]
    return eval_loop.loop(config, dataset, checkpoint_path, writer, evaluate_one,
                          list_checkpoints)
  finally:
    writer.close()
