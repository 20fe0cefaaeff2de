"""Evaluation of checkpoints alongside training, in the manner of slim.evaluation.evaluation_loop.

Each checkpoint is evaluated over exactly one pass of a split (the input pipeline raises
OutOfRangeError after the last, possibly smaller, batch) with streaming metrics: a fresh graph
per checkpoint, tf-slim's evaluate_once (MonitoredSession: restore, queue runners, update ops
until the data runs out, final values). Then, at the checkpoint's global step, eval_dir gets
scalar summaries, a confusion-matrix heat map, a grid of validation images (mistakes first), a
text table, and the fc7 features of the images for the embedding projector.

The loop (`evaluate`) takes every checkpoint of the training folder in global-step order, not
only the newest, and remembers the last evaluated step in eval_dir/eval_state.json, so a
restarted evaluator goes on where it stopped. It ends when --timeout seconds pass without a new
checkpoint, or after the checkpoint of the training's last step. A checkpoint that training's
rotation deletes between discovery and restore (tensorflow#39033) is logged and skipped.

Nothing is ever written into the training folder. Nothing here reads flags.
"""
import dataclasses
import io
import json
import math
import os
import re
import time
from typing import Optional

import numpy as np
import tensorflow as tf
import tf_slim as slim
from absl import logging
from PIL import Image
from tf_slim.training import evaluation as slim_evaluation

import base
from datasets import convert
from datasets import dataset_factory
from datasets import dataset_utils
from datasets import input_pipeline
from base import UserError
from nets import alexnet
from nets import nets_factory
from preprocessing import inception_preprocessing
from preprocessing import preprocessing_factory
from summaries import drawing
from summaries import photo_grids
from summaries import projector
from training import checkpoints
from training import session

STATE_FILENAME = 'eval_state.json'
EMBEDDING_TENSOR = 'fc7'
DATASET_EMBEDDING_TENSOR = 'pixels'
EVAL_DEVICES = ('auto', 'cpu', 'gpu')
THUMB_SIZE = 96          # thumbnails collected for the prediction grid and the sprite
SPRITE_THUMB_SIZE = 64   # sprite cells (TensorBoard's projector wants the sprite <= 8192 px)
LOG_EVERY_SECS = 10.0    # progress lines during a pass


@dataclasses.dataclass
class EvalConfig:
  dataset_dir: str
  checkpoint_path: str                  # the train_dir (a folder) or one checkpoint prefix
  eval_dir: str
  dataset_name: str = 'flowers'
  dataset_split_name: str = 'validation'
  model_name: str = 'alexnet_v2'
  batch_size: int = 50
  eval_interval_secs: float = 60.0      # pause between looks for a new checkpoint
  timeout: Optional[float] = 3600.0     # stop after this long without a new one (0: evaluate
                                        # what is there and stop); None: wait forever
  max_number_of_steps: Optional[int] = None   # training's last step: stop once it is evaluated
  once: bool = False
  eval_image_size: Optional[int] = None       # default: the net's (224)
  full_image: bool = False
  moving_average_decay: Optional[float] = None
  eval_device: str = 'auto'
  input_pipeline: Optional[str] = None        # default: queue (tf_data for full_image)
  num_preprocessing_threads: int = 4
  embedding_size: Optional[int] = None        # images in the projector; None: all
  embedding_every: int = 1                    # projector every n-th evaluation; 0: never
  grid_images: int = 36                       # images in the prediction grid; 0: no grid


@dataclasses.dataclass
class EvalResult:
  checkpoint: str
  step: int
  class_names: list
  confusion_matrix: np.ndarray          # [C, C] int64, rows true, columns predicted
  accuracy: float
  loss: float
  recall_at_k: float
  k: int
  precision: np.ndarray                 # [C], NaN for a class never predicted
  recall: np.ndarray                    # [C], NaN for a class with no image
  mean_per_class_accuracy: float
  embedding_written: bool = False

  @property
  def num_examples(self):
    return int(self.confusion_matrix.sum())

  def scalars(self):
    """{summary tag: value}, NaN values left out."""
    values = {'eval/accuracy': self.accuracy, 'eval/loss': self.loss,
              'eval/recall_at_%d' % self.k: self.recall_at_k,
              'eval/mean_per_class_accuracy': self.mean_per_class_accuracy,
              'eval/num_examples': float(self.num_examples)}
    for name, p, r in zip(self.class_names, self.precision, self.recall):
      tag = _tag(name)
      values['eval/precision/' + tag] = p
      values['eval/recall/' + tag] = r
    return {t: float(v) for t, v in values.items() if not math.isnan(v)}

  def to_json(self):
    def number(v):
      return None if math.isnan(v) else round(float(v), 6)
    return {'checkpoint': os.path.basename(self.checkpoint), 'step': self.step,
            'num_examples': self.num_examples, 'accuracy': number(self.accuracy),
            'loss': number(self.loss), 'recall_at_%d' % self.k: number(self.recall_at_k),
            'mean_per_class_accuracy': number(self.mean_per_class_accuracy)}


def _tag(name):
  return re.sub(r'[^A-Za-z0-9_.\-]+', '_', str(name))


# --- settings ------------------------------------------------------------------------------------

def validate(config):
  """One-line UserErrors for settings that can never work."""
  checks = [
      (config.batch_size > 0, '--batch_size must be positive, got %d' % config.batch_size),
      (config.eval_interval_secs >= 0, '--eval_interval_secs must be >= 0'),
      (config.timeout is None or config.timeout >= 0, '--timeout must be >= 0'),
      (config.max_number_of_steps is None or config.max_number_of_steps > 0,
       '--max_number_of_steps must be positive (0 on the command line: unknown)'),
      (config.eval_image_size is None or config.eval_image_size >= alexnet.MIN_IMAGE_SIZE,
       '--eval_image_size must be at least %d (alexnet_v2 needs a 5x5 pool5), got %s'
       % (alexnet.MIN_IMAGE_SIZE, config.eval_image_size)),
      (config.moving_average_decay is None or 0.0 < config.moving_average_decay < 1.0,
       '--moving_average_decay must be in (0, 1)'),
      (config.eval_device in EVAL_DEVICES,
       'unknown --eval_device "%s"; choose one of %s' % (config.eval_device,
                                                         ', '.join(EVAL_DEVICES))),
      (config.input_pipeline is None or config.input_pipeline in input_pipeline.PIPELINES,
       'unknown --input_pipeline "%s"; choose one of %s'
       % (config.input_pipeline, ', '.join(input_pipeline.PIPELINES))),
      (not (config.full_image and config.input_pipeline == 'queue'),
       '--full_image needs --input_pipeline=tf_data (the queue pipeline batches equal-size '
       'images only)'),
      (config.num_preprocessing_threads > 0, '--num_preprocessing_threads must be positive'),
      (config.embedding_size is None or config.embedding_size >= 0,
       '--embedding_size must be >= 0'),
      (config.embedding_every >= 0, '--embedding_every must be >= 0'),
      (config.grid_images >= 0, '--grid_images must be >= 0'),
  ]
  for ok, message in checks:
    if not ok:
      raise UserError(message)
  base.check_folder_path(config.eval_dir, 'eval_dir')
  check_eval_dir(config.checkpoint_path, config.eval_dir)


def check_eval_dir(checkpoint_path, eval_dir):
  """eval_dir must not be the training folder (a subfolder of it is fine: TensorBoard then shows
  train and eval as two runs)."""
  path = checkpoints.strip_suffix(checkpoint_path)
  is_prefix = not os.path.isdir(path) and checkpoints.exists(path)
  train_dir = os.path.dirname(path) if is_prefix else path
  if os.path.realpath(eval_dir) == os.path.realpath(train_dir or '.'):
    raise UserError('--eval_dir=%s is the training folder; give the evaluation a folder of its '
                    'own, e.g. --eval_dir=%s' % (eval_dir, os.path.join(train_dir or '.', 'eval')))


def input_pipeline_name(config):
  if config.input_pipeline:
    return config.input_pipeline
  return 'tf_data' if config.full_image else 'queue'


def session_config(eval_device):
  """session.session_config (soft placement, GPU memory that grows); cpu hides the GPUs."""
  config = session.session_config()
  if eval_device == 'cpu':
    config.device_count['GPU'] = 0
  return config


def model_device(eval_device):
  if eval_device == 'cpu':
    return '/cpu:0'
  if eval_device == 'gpu':
    if session.num_gpus() == 0:
      raise UserError('--eval_device=gpu but no GPU is visible; use --eval_device=cpu or auto')
    return '/gpu:0'
  return None


# --- finding checkpoints ---------------------------------------------------------------------------

def check_not_a_missing_checkpoint(checkpoint_path):
  """A path that does not exist is a training folder still to come, unless its parent holds
  checkpoints: then it is a mistyped checkpoint prefix (UserError)."""
  if os.path.exists(checkpoint_path):
    return
  parent = os.path.dirname(os.path.abspath(checkpoint_path))
  found = checkpoints.list_checkpoints(parent) if os.path.isdir(parent) else []
  if found:
    raise UserError('checkpoint %s does not exist; %s holds %s' % (
        checkpoint_path, parent, ', '.join(os.path.basename(p) for _, p in found[-5:])))


# --- eval_dir state -------------------------------------------------------------------------------

def load_state(eval_dir, checkpoint_dir):
  """The state of an earlier evaluator of the same training folder, or a fresh one."""
  fresh = {'checkpoint_dir': os.path.realpath(checkpoint_dir), 'last_step': -1,
           'evaluated': [], 'skipped': []}
  path = os.path.join(eval_dir, STATE_FILENAME)
  try:
    with open(path, encoding='utf-8') as f:
      state = json.load(f)
  except FileNotFoundError:
    return fresh
  except (OSError, ValueError) as e:
    logging.warning('Ignoring unreadable %s (%s); evaluating from the start.', path, e)
    return fresh
  if not isinstance(state, dict) or state.get('checkpoint_dir') != fresh['checkpoint_dir']:
    logging.warning('%s belongs to another training folder (%s); evaluating %s from the start.',
                    path, state.get('checkpoint_dir') if isinstance(state, dict) else '?',
                    checkpoint_dir)
    return fresh
  for key, value in fresh.items():
    state.setdefault(key, value)
  return state


def save_state(eval_dir, state):
  base.write_text_atomic(os.path.join(eval_dir, STATE_FILENAME),
                                  json.dumps(state, indent=2, sort_keys=True) + '\n')


# --- the graph -------------------------------------------------------------------------------------

def full_image_preprocess(jpeg_bytes, shorter_side):
  """The whole photo, resized (bilinear) so its shorter side is `shorter_side`, aspect kept,
  float32 [h, w, 3] in [-1, 1]: the fully convolutional net then slides over all of it."""
  image = inception_preprocessing.to_float(inception_preprocessing.decode_whole(jpeg_bytes))
  side = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = float(shorter_side) / tf.reduce_min(side)
  size = tf.maximum(tf.cast(tf.round(side * scale), tf.int32), shorter_side)
  image = tf.image.resize(image, size, method=tf.image.ResizeMethod.BILINEAR)
  image.set_shape([None, None, 3])
  return inception_preprocessing.scale_to_unit_range(image)


def streaming_confusion_matrix(labels, predictions, num_classes, name='confusion_matrix'):
  """A local [C, C] int64 count (rows true, columns predicted) and the op adding a batch to it."""
  with tf.compat.v1.variable_scope(name):
    total = tf.compat.v1.get_variable(
        'total', [num_classes, num_classes], tf.int64, trainable=False,
        initializer=tf.compat.v1.zeros_initializer(),
        collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
                     tf.compat.v1.GraphKeys.METRIC_VARIABLES])
    batch = tf.math.confusion_matrix(labels, predictions, num_classes, dtype=tf.int64)
    update = total.assign_add(batch)
  return tf.identity(total), update


@dataclasses.dataclass
class EvalGraph:
  update_op: tf.Operation     # run once per batch
  values: dict                # final metric values (run once after the pass)
  collect: dict               # per-batch arrays for the grid and the projector
  variables_to_restore: dict  # checkpoint name -> variable
  global_step: tf.Variable
  k: int                      # recall@k


def build_eval_graph(config, dataset):
  """Input (one pass), net, streaming metrics and per-batch fetches in the default graph."""
  full_image = config.full_image
  batch_size = 1 if full_image else config.batch_size
  network_fn = nets_factory.get_network_fn(config.model_name, dataset.num_classes,
                                           is_training=False)
  image_size = config.eval_image_size or network_fn.default_image_size
  if full_image:
    preprocess = lambda encoded: full_image_preprocess(encoded, image_size)
  else:
    jpeg_preprocessing = preprocessing_factory.get_jpeg_preprocessing(config.model_name,
                                                                      is_training=False)
    preprocess = lambda encoded: jpeg_preprocessing(encoded, image_size, image_size,
                                                    decode_and_crop=True)
  batch = input_pipeline.build_batches(
      dataset, preprocess, batch_size, is_training=False,
      pipeline=input_pipeline_name(config),
      num_preprocessing_threads=config.num_preprocessing_threads)()
  global_step = tf.compat.v1.train.get_or_create_global_step()

  with tf.device(model_device(config.eval_device)):
    # global_pool averages fc7 over the windows before the linear fc8, which equals averaging
    # the score map; at the net's own size there is one window and nothing changes.
    logits, end_points = network_fn(batch['images'], global_pool=True)
    features = tf.squeeze(end_points['alexnet_v2/global_pool'], [1, 2], name='features')
    labels = tf.cast(batch['labels'], tf.int64)
    predictions = tf.argmax(logits, 1)
    k = min(2, dataset.num_classes)
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    in_top_k = tf.cast(tf.math.in_top_k(labels, logits, k), tf.float32)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'accuracy': tf.compat.v1.metrics.accuracy(labels, predictions),
        'loss': tf.compat.v1.metrics.mean(losses),
        'recall_at_k': tf.compat.v1.metrics.mean(in_top_k),
        'confusion_matrix': streaming_confusion_matrix(labels, predictions,
                                                       dataset.num_classes),
    })
  names_to_values['global_step'] = global_step.read_value()
  thumbnails = tf.image.resize_with_pad(batch['images'], THUMB_SIZE, THUMB_SIZE)
  thumbnails = tf.cast(tf.round(tf.clip_by_value((thumbnails + 1.0) * 127.5, 0.0, 255.0)),
                       tf.uint8)
  collect = {'labels': labels, 'predictions': predictions,
             'probabilities': tf.nn.softmax(logits), 'filenames': batch['filenames'],
             'thumbnails': thumbnails, 'features': features}
  return EvalGraph(update_op=tf.group(*names_to_updates.values()), values=names_to_values,
                   collect=collect,
                   variables_to_restore=variables_to_restore(config.moving_average_decay,
                                                             global_step),
                   global_step=global_step, k=k)


def variables_to_restore(moving_average_decay, global_step):
  """{checkpoint name: variable}: the model variables (their moving averages when decay is
  given, as the trainer keeps them for slim.get_model_variables()) and the global step."""
  if moving_average_decay:
    averages = tf.train.ExponentialMovingAverage(moving_average_decay, global_step)
    names = averages.variables_to_restore(slim.get_model_variables())
  else:
    names = {v.op.name: v for v in slim.get_model_variables()}
  names[global_step.op.name] = global_step
  return names


class CheckpointGone(Exception):
  """The checkpoint disappeared (rotated away by training) before it could be read."""


def check_checkpoint(checkpoint, var_list, model_name):
  """UserError when the checkpoint does not fit the graph; CheckpointGone when it is gone."""
  try:
    reader = tf.train.load_checkpoint(checkpoint)
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
    raise CheckpointGone(str(e).splitlines()[0] if str(e) else type(e).__name__)
  saved = reader.get_variable_to_shape_map()
  for name, var in sorted(var_list.items()):
    if name not in saved:
      if name.endswith('/ExponentialMovingAverage'):
        raise UserError('checkpoint %s has no moving averages (%s); evaluate without '
                        '--moving_average_decay, or train with it' % (checkpoint, name))
      raise UserError('checkpoint %s has no variable %s: it was not trained as %s; check '
                      '--model_name / --use_batch_norm' % (checkpoint, name, model_name))
    want = var.shape.as_list()
    if saved[name] != want:
      raise UserError('checkpoint %s holds %s with shape %s but %s on this dataset needs %s; '
                      'check --model_name and --dataset_name/--dataset_dir (number of classes)'
                      % (checkpoint, name, saved[name], model_name, want))


# --- one pass ------------------------------------------------------------------------------------

class _PassHook(tf.compat.v1.train.SessionRunHook):
  """Fetches the per-batch arrays with each update, keeps what the grid and the projector need,
  logs progress, and notes whether the session got as far as restoring the checkpoint."""

  def __init__(self, collect, total, name, keep_features, embedding_size, grid_images):
    self.collect = collect
    self.total = total
    self.name = name
    self.keep_features = keep_features
    self.embedding_size = embedding_size
    self.grid_images = grid_images
    self.restored = False
    self.rows = []           # per example: (label, prediction, probabilities, filename)
    self.thumbnails = {}     # example index -> uint8 [T, T, 3]
    self.features = []
    self._grid_kept = {True: 0, False: 0}
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
    for i in range(len(values['labels'])):
      index = len(self.rows)
      label, prediction = int(values['labels'][i]), int(values['predictions'][i])
      self.rows.append((label, prediction, values['probabilities'][i], values['filenames'][i]))
      embedded = self.keep_features and (self.embedding_size is None
                                         or index < self.embedding_size)
      correct = label == prediction
      in_grid = self._grid_kept[correct] < self.grid_images
      if in_grid:
        self._grid_kept[correct] += 1
      if embedded:
        self.features.append(values['features'][i])
      if embedded or in_grid:
        self.thumbnails[index] = values['thumbnails'][i]
    self._progress.advance(len(values['labels']))
    if self._progress.due(LOG_EVERY_SECS):
      logging.info('%s: %s', self.name, self._progress.line())

  def embedded_indices(self):
    return list(range(len(self.features)))


def class_metrics(confusion):
  """(precision [C], recall [C], mean per-class accuracy) of a confusion matrix (rows true).

  Precision is NaN for a class never predicted, recall for a class with no example; the mean
  per-class accuracy averages the recall of the classes that have examples.
  """
  confusion = np.asarray(confusion, np.float64)
  diagonal = np.diag(confusion)
  with np.errstate(invalid='ignore', divide='ignore'):
    precision = np.where(confusion.sum(0) > 0, diagonal / confusion.sum(0), np.nan)
    recall = np.where(confusion.sum(1) > 0, diagonal / confusion.sum(1), np.nan)
  present = ~np.isnan(recall)
  mean = float(recall[present].mean()) if present.any() else float('nan')
  return precision, recall, mean


def _restore_failed_by_race(error, checkpoint):
  return (isinstance(error, (tf.errors.NotFoundError, tf.errors.DataLossError))
          or not checkpoints.exists(checkpoint))


def evaluate_checkpoint(config, dataset, checkpoint, writer, write_embedding=True, hooks=()):
  """Evaluates one checkpoint over one pass of the split and writes its summaries.

  Returns an EvalResult, or None when the checkpoint vanished before it was restored.
  """
  class_names = [dataset.labels_to_names[i] for i in range(dataset.num_classes)]
  name = os.path.basename(checkpoint)
  with tf.Graph().as_default():
    graph = build_eval_graph(config, dataset)
    try:
      check_checkpoint(checkpoint, graph.variables_to_restore, config.model_name)
    except CheckpointGone as e:
      logging.warning('Skipping %s: it is gone (rotated away by training?): %s', name, e)
      return None
    pass_hook = _PassHook(graph.collect, dataset.num_samples, name,
                          keep_features=write_embedding, embedding_size=config.embedding_size,
                          grid_images=config.grid_images)
    scaffold = tf.compat.v1.train.Scaffold(
        saver=tf.compat.v1.train.Saver(graph.variables_to_restore))
    logging.info('Evaluating %s on the %s split (%d images).', checkpoint,
                 dataset.split_name, dataset.num_samples)
    try:
      values = slim_evaluation.evaluate_once(
          checkpoint, scaffold=scaffold, eval_ops=graph.update_op, final_ops=graph.values,
          hooks=[pass_hook] + list(hooks), config=session_config(config.eval_device))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as e:
      if pass_hook.restored and isinstance(e, tf.errors.DataLossError):
        damaged = convert.damaged_shards_error(dataset.data_sources, config.dataset_dir,
                                               config.dataset_name)
        if damaged:
          raise damaged from None
      if pass_hook.restored or not _restore_failed_by_race(e, checkpoint):
        raise
      logging.warning('Skipping %s: it vanished before it could be restored (rotated away by '
                      'training?): %s', name, str(e).splitlines()[0])
      return None

  confusion = np.asarray(values['confusion_matrix'], np.int64)
  precision, recall, mean_per_class = class_metrics(confusion)
  result = EvalResult(
      checkpoint=checkpoint, step=int(values['global_step']), class_names=class_names,
      confusion_matrix=confusion, accuracy=float(values['accuracy']),
      loss=float(values['loss']), recall_at_k=float(values['recall_at_k']),
      k=graph.k, precision=precision, recall=recall,
      mean_per_class_accuracy=mean_per_class)
  logging.info('%s', results_table(result, dataset.split_name))
  if result.num_examples != dataset.num_samples:
    logging.warning('The pass counted %d images but the dataset says the %s split has %d; is '
                    'its manifest out of date?', result.num_examples, dataset.split_name,
                    dataset.num_samples)
  write_summaries(writer, result, pass_hook, config.grid_images)
  if write_embedding and pass_hook.features:
    write_embedding_projector(config.eval_dir, result, pass_hook)
    result.embedding_written = True
  return result


# --- what the evaluation writes --------------------------------------------------------------------

def _format(value, digits=3):
  return '-' if math.isnan(value) else '%.*f' % (digits, value)


def results_table(result, split_name='validation'):
  """The results as plain text: headline metrics, per-class table, confusion matrix."""
  names = [str(n) for n in result.class_names]
  width = max([len(n) for n in names] + [5])
  lines = ['%s (step %d) on %d %s images: accuracy %s, loss %s, recall@%d %s, mean per-class '
           'accuracy %s' % (os.path.basename(result.checkpoint), result.step,
                            result.num_examples, split_name, _format(result.accuracy),
                            _format(result.loss, 4), result.k, _format(result.recall_at_k),
                            _format(result.mean_per_class_accuracy)),
           '  %-*s  precision  recall  images' % (width, 'class')]
  counts = result.confusion_matrix.sum(1)
  for i, name in enumerate(names):
    lines.append('  %-*s  %9s  %6s  %6d' % (width, name, _format(result.precision[i]),
                                            _format(result.recall[i]), counts[i]))
  lines.append('  confusion matrix (rows: true class, columns: predicted)')
  cell = max([len(n) for n in names] + [len(str(result.confusion_matrix.max()))])
  lines.append('  %-*s  %s' % (width, '', '  '.join('%*s' % (cell, n) for n in names)))
  for i, name in enumerate(names):
    lines.append('  %-*s  %s' % (width, name, '  '.join(
        '%*d' % (cell, v) for v in result.confusion_matrix[i])))
  return '\n'.join(lines)


def results_markdown(result):
  """The same results as Markdown tables, for TensorBoard's text dashboard."""
  names = [str(n) for n in result.class_names]
  counts = result.confusion_matrix.sum(1)
  lines = ['**%s** (step %d), %d images: accuracy %s, loss %s, recall@%d %s, mean per-class '
           'accuracy %s' % (os.path.basename(result.checkpoint), result.step,
                            result.num_examples, _format(result.accuracy),
                            _format(result.loss, 4), result.k, _format(result.recall_at_k),
                            _format(result.mean_per_class_accuracy)),
           '', '| class | precision | recall | images |', '|---|---|---|---|']
  for i, name in enumerate(names):
    lines.append('| %s | %s | %s | %d |' % (name, _format(result.precision[i]),
                                            _format(result.recall[i]), counts[i]))
  lines += ['', 'Confusion matrix (rows: true class, columns: predicted)', '',
            '| true \\ predicted | %s |' % ' | '.join(names),
            '|---|%s' % ('---|' * len(names))]
  for i, name in enumerate(names):
    lines.append('| %s | %s |' % (name, ' | '.join(str(v) for v in result.confusion_matrix[i])))
  return '\n'.join(lines)


def image_summary_value(tag, picture):
  """A Summary.Value holding uint8 [H, W, 3] as PNG."""
  buffer = _png(picture)
  return tf.compat.v1.Summary.Value(tag=tag, image=tf.compat.v1.Summary.Image(
      height=picture.shape[0], width=picture.shape[1], colorspace=3,
      encoded_image_string=buffer))


def _png(picture):
  out = io.BytesIO()
  Image.fromarray(np.asarray(picture, np.uint8)).save(out, format='PNG')
  return out.getvalue()


def text_summary_value(tag, text):
  """A Summary.Value for TensorBoard's text dashboard (Markdown)."""
  value = tf.compat.v1.Summary.Value(tag=tag, tensor=tf.compat.v1.make_tensor_proto(
      text.encode('utf-8'), dtype=tf.string))
  value.metadata.plugin_data.plugin_name = 'text'
  return value


def make_writer(log_dir):
  """A v1 FileWriter (which wants graph mode) for log_dir, without a graph."""
  with tf.Graph().as_default():
    return tf.compat.v1.summary.FileWriter(log_dir)


def write_summaries(writer, result, pass_hook, grid_images):
  """Scalars, the confusion matrix heat map, the prediction grid and the text table, at the
  checkpoint's global step."""
  values = [tf.compat.v1.Summary.Value(tag=tag, simple_value=v)
            for tag, v in sorted(result.scalars().items())]
  values.append(image_summary_value(
      'eval/confusion_matrix', drawing.confusion_matrix_image(
          result.confusion_matrix, result.class_names,
          title='Confusion matrix, step %d' % result.step)))
  if grid_images:
    picture = prediction_grid(pass_hook, result.class_names, grid_images)
    if picture is not None:
      values.append(image_summary_value('eval/predictions', picture))
  values.append(text_summary_value('eval/results', results_markdown(result)))
  writer.add_summary(tf.compat.v1.Summary(value=values), result.step)
  writer.flush()


def prediction_grid(pass_hook, class_names, max_images):
  """Thumbnails captioned with true and predicted label, mistakes first."""
  kept = sorted(pass_hook.thumbnails)
  if not kept:
    return None
  rows = [pass_hook.rows[i] for i in kept]
  return photo_grids.prediction_grid(
      [pass_hook.thumbnails[i] for i in kept], [r[0] for r in rows], [r[1] for r in rows],
      class_names, probabilities=np.stack([r[2] for r in rows]), max_images=max_images)


def _text(value):
  return value.decode('utf-8', 'replace') if isinstance(value, bytes) else str(value)


def write_embedding_projector(eval_dir, result, pass_hook):
  """The fc7 features of the first --embedding_size images, with metadata and a sprite."""
  indices = pass_hook.embedded_indices()
  names = result.class_names
  metadata = []
  for i in indices:
    label, prediction, _, filename = pass_hook.rows[i]
    metadata.append({'filename': _text(filename), 'true': names[label],
                     'predicted': names[prediction], 'correct': int(label == prediction)})
  projector.write_projector(
      eval_dir, np.stack(pass_hook.features), metadata,
      [pass_hook.thumbnails[i] for i in indices], tensor_name=EMBEDDING_TENSOR,
      step=result.step, thumb_size=SPRITE_THUMB_SIZE)


# --- the loop ------------------------------------------------------------------------------------

def _wants_embedding(config, evaluation_index, step):
  if not config.embedding_every or config.embedding_size == 0:
    return False
  last = config.max_number_of_steps is not None and step >= config.max_number_of_steps
  return evaluation_index % config.embedding_every == 0 or last


def evaluate(config, hooks=(), sleep=time.sleep, clock=time.monotonic):
  """Evaluates one checkpoint (once, or checkpoint_path is a prefix) or every checkpoint of the
  training folder as it appears. Returns the EvalResults in the order evaluated.

  hooks: extra SessionRunHooks given to every evaluation.
  """
  validate(config)
  dataset = dataset_factory.get_dataset(config.dataset_name, config.dataset_split_name,
                                        config.dataset_dir)
  model_device(config.eval_device)  # UserError now for gpu without a GPU
  if config.full_image and config.batch_size != 1:
    logging.info('--full_image classifies one whole photo at a time (batch size 1).')
  checkpoint_path = checkpoints.strip_suffix(config.checkpoint_path)
  once = config.once or checkpoints.exists(checkpoint_path)
  if not once:
    check_not_a_missing_checkpoint(checkpoint_path)
  if once:
    checkpoint = checkpoints.resolve(checkpoint_path)
  tf.io.gfile.makedirs(config.eval_dir)
  writer = make_writer(config.eval_dir)
  try:
    if once:
      result = evaluate_checkpoint(config, dataset, checkpoint, writer,
                                   write_embedding=_wants_embedding(config, 0, 0), hooks=hooks)
      if result is None:
        raise UserError('checkpoint %s disappeared before it could be read; run again'
                        % checkpoint)
      return [result]
    return _loop(config, dataset, checkpoint_path, writer, hooks, sleep, clock)
  finally:
    writer.close()


def _loop(config, dataset, checkpoint_dir, writer, hooks, sleep, clock):
  state = load_state(config.eval_dir, checkpoint_dir)
  last_step = state['last_step']
  max_steps = config.max_number_of_steps
  if max_steps is not None and last_step >= max_steps:
    logging.info('Step %d (training\'s last, --max_number_of_steps) is already evaluated '
                 '(%s); nothing to do.', last_step, os.path.join(config.eval_dir,
                                                                 STATE_FILENAME))
    return []
  if not os.path.isdir(checkpoint_dir):
    logging.warning('%s does not exist yet; waiting for training to create it.', checkpoint_dir)
  elif last_step >= 0:
    logging.info('Going on after step %d (%s).', last_step,
                 os.path.join(config.eval_dir, STATE_FILENAME))
  results = []
  idle_since = clock()
  waiting_logged = False
  while True:
    pending = [(s, p) for s, p in checkpoints.list_checkpoints(checkpoint_dir) if s > last_step]
    if not pending:
      idle = clock() - idle_since
      if config.timeout is not None and idle >= config.timeout:
        logging.info('No new checkpoint in %s for %.0f s (--timeout); stopping after %d '
                     'evaluation(s).', checkpoint_dir, idle, len(results))
        return results
      if not waiting_logged:
        logging.info('Waiting for a checkpoint newer than step %d in %s.', last_step,
                     checkpoint_dir)
        waiting_logged = True
      pause = config.eval_interval_secs
      if config.timeout is not None:
        pause = min(pause, max(config.timeout - idle, 0.0))
      sleep(max(pause, 0.01))
      continue
    waiting_logged = False
    step, checkpoint = pending[0]
    if len(pending) > 1:
      logging.info('%d checkpoints waiting; taking them in order.', len(pending))
    result = evaluate_checkpoint(config, dataset, checkpoint, writer,
                                 write_embedding=_wants_embedding(config, len(results), step),
                                 hooks=hooks)
    last_step = step
    state['last_step'] = step
    if result is None:
      state['skipped'].append({'step': step, 'checkpoint': os.path.basename(checkpoint)})
    else:
      results.append(result)
      state['evaluated'].append(result.to_json())
    save_state(config.eval_dir, state)
    idle_since = clock()
    if max_steps is not None and step >= max_steps:
      logging.info('Evaluated step %d, training\'s last (--max_number_of_steps); done.', step)
      return results


# --- what the dataset looks like -----------------------------------------------------------------

def _read_examples(data_sources):
  """(encoded, label, filename) of every record, in file order (the TF-Slim keys)."""
  for path in data_sources:
    for record in tf.compat.v1.io.tf_record_iterator(path):
      features = tf.train.Example.FromString(record).features.feature
      filename = b''
      if 'image/filename' in features and features['image/filename'].bytes_list.value:
        filename = features['image/filename'].bytes_list.value[0]
      yield (features['image/encoded'].bytes_list.value[0],
             int(features['image/class/label'].int64_list.value[0]),
             filename.decode('utf-8', 'replace'))


def _thumbnail(encoded, size):
  """A square centre crop of the photo, size x size, uint8 (Pillow, no TensorFlow)."""
  with Image.open(io.BytesIO(encoded)) as image:
    image.draft('RGB', (size, size))
    image = image.convert('RGB')
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
    return np.asarray(image)


def write_dataset_view(dataset, log_dir, images_per_class=8, embedding_size=None,
                       pixel_size=32, thumb_size=SPRITE_THUMB_SIZE):
  """A TensorBoard log of what a split looks like, before any training.

  Writes to log_dir: an image summary 'dataset/<class>' per class (a grid of its first
  images_per_class photos, captioned with their file names), a text table of the class counts, and an embedding projector whose
  vectors are the pixels of pixel_size x pixel_size thumbnails (first embedding_size images, all
  by default) with filename and label metadata and a sprite of the photos.
  Returns {'num_images': N, 'class_counts': {name: count}, 'embedded': M}.
  """
  names = [dataset.labels_to_names[i] for i in range(dataset.num_classes)]
  samples = {label: [] for label in range(len(names))}
  counts = np.zeros(len(names), np.int64)
  pixels, thumbnails, metadata = [], [], []
  for index, (encoded, label, filename) in enumerate(_read_examples(dataset.data_sources)):
    if not 0 <= label < len(names):
      logging.warning('Record %d (%s) has label %d outside 0..%d; left out.', index, filename,
                      label, len(names) - 1)
      continue
    counts[label] += 1
    embed = embedding_size is None or len(pixels) < embedding_size
    sample = len(samples[label]) < images_per_class
    if not (embed or sample):
      continue
    try:
      thumbnail = _thumbnail(encoded, thumb_size)
    except (OSError, ValueError) as e:
      logging.warning('Record %d (%s) does not decode (%s); left out.', index, filename, e)
      continue
    if sample:
      samples[label].append((thumbnail, filename))
    if embed:
      thumbnails.append(thumbnail)
      small = np.asarray(Image.fromarray(thumbnail).resize((pixel_size, pixel_size),
                                                           Image.BILINEAR), np.float32)
      pixels.append(small.reshape(-1) / 255.0)
      metadata.append({'filename': filename, 'label': names[label]})
  if not counts.sum():
    raise UserError('the %s split of %s holds no readable image' % (dataset.split_name,
                                                                   dataset.data_sources[0]))

  values = []
  for label, name in enumerate(names):
    if samples[label]:
      values.append(image_summary_value('dataset/%s' % _tag(name), photo_grids.image_grid(
          [t for t, _ in samples[label]], [os.path.basename(f) for _, f in samples[label]])))
  table = ['%d %s images in %d classes' % (counts.sum(), dataset.split_name, len(names)), '',
           '| class | images |', '|---|---|']
  table += ['| %s | %d |' % (name, counts[i]) for i, name in enumerate(names)]
  values.append(text_summary_value('dataset/classes', '\n'.join(table)))
  tf.io.gfile.makedirs(log_dir)
  writer = make_writer(log_dir)
  try:
    writer.add_summary(tf.compat.v1.Summary(value=values), 0)
  finally:
    writer.close()
  if pixels:
    projector.write_projector(log_dir, np.stack(pixels), metadata, thumbnails,
                              tensor_name=DATASET_EMBEDDING_TENSOR, step=0,
                              thumb_size=thumb_size)
  logging.info('Dataset view of %d %s images (%s) in %s; %d in the projector.', counts.sum(),
               dataset.split_name, ', '.join('%s %d' % (n, c) for n, c in zip(names, counts)),
               log_dir, len(pixels))
  return {'num_images': int(counts.sum()),
          'class_counts': {n: int(c) for n, c in zip(names, counts)}, 'embedded': len(pixels)}
