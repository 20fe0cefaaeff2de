"""Finding checkpoints, repairing a training folder's state file, checking a checkpoint against the
graph's variables (resume, fine-tune, evaluate), initialising a model from a checkpoint
(fine-tuning), and the evaluator's record of the checkpoints it has evaluated."""
import glob
import os
import re

import tensorflow as tf
from google.protobuf import text_format

import base
from base import UserError

STATE_FILENAME = 'checkpoint'  # TensorFlow's state file naming a folder's newest checkpoint
_DATA_FILE = re.compile(r'\.data-\d+-of-(\d+)$')
_STEP_SUFFIX = re.compile(r'-(\d+)$')
_FILE_SUFFIX = re.compile(r'\.(index|meta|data-\d+-of-\d+)$')


def checkpoint_problem(prefix):
  """What keeps a checkpoint from being complete and readable, or None when its .index and all
  its data files exist and TensorFlow reads it."""
  if not os.path.isfile(prefix + '.index'):
    return 'it has no .index file'
  counts = {int(match.group(1)) for match in map(_DATA_FILE.search,
                                                 glob.glob(glob.escape(prefix) + '.data-*'))
            if match}  # (Not the .tempstate files of a save that was cut short.)
  if len(counts) != 1:
    return 'its data files are missing or of two saves'
  num_files = counts.pop()
  if not all(os.path.isfile('%s.data-%05d-of-%05d' % (prefix, i, num_files))
             for i in range(num_files)):
    return 'some of its %d data files are missing' % num_files
  try:
    tf.train.load_checkpoint(prefix)
  except (tf.errors.OpError, ValueError) as e:
    return 'it cannot be read (%s)' % base.first_line(e)
  return None


def is_complete(prefix):
  """True when a checkpoint's .index and all its data files exist and TensorFlow reads it."""
  return checkpoint_problem(prefix) is None


def strip_suffix(path):
  """model.ckpt-10.index (or .meta, .data-00000-of-00001) -> model.ckpt-10."""
  return _FILE_SUFFIX.sub('', path)


def exists(prefix):
  """A checkpoint counts once its .index exists (TensorFlow writes it last)."""
  return os.path.isfile(prefix + '.index')


def checkpoint_step(prefix):
  """The global step of a checkpoint: from its name (model.ckpt-<step>), else read from it."""
  match = _STEP_SUFFIX.search(os.path.basename(prefix))
  if match:
    return int(match.group(1))
  return saved_step(prefix)


def saved_step(prefix):
  """The global_step variable saved in a checkpoint."""
  return int(tf.train.load_checkpoint(prefix).get_tensor('global_step'))


def list_checkpoints(checkpoint_dir):
  """[(global step, prefix)] of the checkpoints in a folder (those with an .index), oldest
  first. Checkpoints that vanish while being listed are left out."""
  found = {}
  for index in glob.glob(os.path.join(glob.escape(checkpoint_dir), '*.index')):
    prefix = index[:-len('.index')]
    try:
      found[prefix] = checkpoint_step(prefix)
    except (tf.errors.OpError, KeyError, ValueError):
      continue
  return sorted((step, prefix) for prefix, step in found.items())


def complete_checkpoints(train_dir):
  """[(global step, prefix)] of the complete checkpoints in a folder, oldest first."""
  return [(step, prefix) for step, prefix in list_checkpoints(train_dir) if is_complete(prefix)]


def resolve(checkpoint_path):
  """A checkpoint prefix from a prefix (or one of its files) or a folder (its newest complete
  one; else its newest, whose problem the caller reports)."""
  path = strip_suffix(checkpoint_path)
  if os.path.isdir(path):
    found = list_checkpoints(path)
    if not found:
      raise UserError('no checkpoint in %s (train first, or give a checkpoint prefix such as '
                      'model.ckpt-1000)' % path)
    return next((prefix for _, prefix in reversed(found) if is_complete(prefix)), found[-1][1])
  if exists(path):
    return path
  raise UserError('checkpoint %s does not exist (give a checkpoint prefix such as '
                  'model.ckpt-1000, or a folder holding checkpoints)' % checkpoint_path)


def train_dir_of(checkpoint_path):
  """The training folder of a checkpoint path: the prefix's folder, or the path itself (a folder,
  perhaps one still to come)."""
  path = strip_suffix(checkpoint_path)
  is_prefix = not os.path.isdir(path) and exists(path)
  return os.path.dirname(path) if is_prefix else path


def check_not_a_missing_checkpoint(checkpoint_path):
  """A path that does not exist is a training folder still to come, unless its parent holds
  checkpoints: then it is a mistyped checkpoint prefix (UserError)."""
  if os.path.exists(checkpoint_path):
    return
  parent = os.path.dirname(os.path.abspath(checkpoint_path))
  found = list_checkpoints(parent) if os.path.isdir(parent) else []
  if found:
    raise UserError('checkpoint %s does not exist; %s holds %s' % (
        checkpoint_path, parent, ', '.join(os.path.basename(p) for _, p in found[-5:])))


def is_inside(folder, prefix):
  """True when the checkpoint prefix is in folder itself (symbolic links resolved)."""
  return os.path.realpath(os.path.dirname(prefix) or '.') == os.path.realpath(folder or '.')


def named_checkpoint(train_dir):
  """(the complete checkpoint the state file names, or None and what is wrong with the file).

  Only a checkpoint inside train_dir counts: TensorFlow's state file may hold absolute paths,
  and in a copied or moved run folder they name the original's checkpoints.
  """
  if not os.path.exists(os.path.join(train_dir, STATE_FILENAME)):
    return None, 'is missing'
  try:
    state = tf.train.get_checkpoint_state(train_dir)
  except ValueError:  # It parsed, but names no checkpoint (e.g. an empty file).
    return None, 'names no checkpoint'
  if state is None:
    return None, 'cannot be read or does not parse'
  outside = [path for path in [state.model_checkpoint_path] + list(
      state.all_model_checkpoint_paths) if not is_inside(train_dir, path)]
  if outside:
    return None, ('names %s, outside %s (a copied or moved run folder?)'
                  % (outside[0], train_dir))
  problem = checkpoint_problem(state.model_checkpoint_path)
  if problem:
    return None, 'names %s, but %s' % (state.model_checkpoint_path, problem)
  return state.model_checkpoint_path, ''


def write_state(train_dir, prefixes):
  """Rewrites train_dir's state file (atomically) to name the checkpoints `prefixes` (in
  train_dir, oldest first; the last is the newest) by their names alone: paths relative to the
  folder, so the folder stays relocatable (copied, moved, mounted elsewhere)."""
  names = [os.path.basename(prefix) for prefix in prefixes]
  state = tf.compat.v1.train.generate_checkpoint_state_proto(
      os.path.abspath(train_dir), names[-1], all_model_checkpoint_paths=names)
  base.write_text_atomic(os.path.join(train_dir, STATE_FILENAME),
                         text_format.MessageToString(state))


class CheckpointGone(Exception):
  """The checkpoint disappeared (rotated away by training) before it could be read."""


class CheckpointDamaged(Exception):
  """The checkpoint is there but TensorFlow cannot read it (a garbage .index, say); str(e) says
  so in one line."""


def check_variables(checkpoint, saved_shapes, variables, advice, missing_ok=False):
  """UserError for the first of `variables` ({name in the checkpoint: variable}) that the
  checkpoint lacks or holds with another shape, ended by the caller's advice(name, saved shape
  or None): 'checkpoint C has no variable N; <advice>' or 'checkpoint C holds N with shape S but
  the model needs W; <advice>'. saved_shapes: the checkpoint's {name: shape}.

  With missing_ok, the names the checkpoint lacks are returned instead (in order); a shape that
  differs is still an error.
  """
  missing = []
  for name, var in variables.items():
    want = var.shape.as_list()
    if name not in saved_shapes:
      if missing_ok:
        missing.append(name)
        continue
      found = 'has no variable %s' % name
    elif saved_shapes[name] != want:
      found = 'holds %s with shape %s but the model needs %s' % (name, saved_shapes[name], want)
    else:
      continue
    raise UserError('checkpoint %s %s; %s' % (checkpoint, found,
                                              advice(name, saved_shapes.get(name))))
  return missing


def check_evaluable(checkpoint, variables, model_name):
  """UserError unless the checkpoint holds every variable ({name: variable}, see
  eval_variables_to_restore) with its shape; CheckpointGone when it cannot be read any more,
  CheckpointDamaged when it is there but cannot be read."""
  try:
    saved = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  except (tf.errors.OpError, ValueError) as e:
    # TensorFlow raises a bare OpError for a garbage .index, NotFoundError for missing files.
    if exists(checkpoint) and not isinstance(e, tf.errors.NotFoundError):
      raise CheckpointDamaged('checkpoint %s cannot be read: %s' % (checkpoint, base.first_line(e)))
    raise CheckpointGone(base.first_line(e))

  def advice(name, saved_shape):
    if saved_shape is not None:
      return ('check --model_name (%s) and --dataset_name/--dataset_dir (number of classes)'
              % model_name)
    if name.endswith('/ExponentialMovingAverage'):
      return ('it holds no moving averages: evaluate without --moving_average_decay, or train '
              'with it')
    return 'it was not trained as %s; check --model_name / --use_batch_norm' % model_name

  check_variables(checkpoint, saved, dict(sorted(variables.items())), advice)
