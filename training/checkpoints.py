"""Finding checkpoints, repairing a training folder's state file, checking a checkpoint against the
graph's variables (resume, fine-tune, evaluate), initialising a model from a checkpoint
(fine-tuning), and the evaluator's record of the checkpoints it has evaluated."""
import glob
import json
import os
import re

import tensorflow as tf
import tf_slim as slim
from absl import logging

import base
from base import UserError


STATE_FILENAME = 'checkpoint'  # TensorFlow's state file naming a folder's newest checkpoint
EVAL_STATE_FILENAME = 'eval_state.json'  # in eval_dir: the steps an evaluator is done with
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
    return 'it cannot be read (%s)' % first_line(e)
  return None


def is_complete(prefix):
  """True when a checkpoint's .index and all its data files exist and TensorFlow reads it."""
  return checkpoint_problem(prefix) is None


def first_line(error):
  """The first line of an error's message (TensorFlow's go on with stacks), or its type."""
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


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


def _named_checkpoint(train_dir):
  """(the complete checkpoint the state file names, or None and what is wrong with the file)."""
  if not os.path.exists(os.path.join(train_dir, STATE_FILENAME)):
    return None, 'is missing'
  try:
    state = tf.train.get_checkpoint_state(train_dir)
  except ValueError:  # It parsed, but names no checkpoint (e.g. an empty file).
    return None, 'names no checkpoint'
  if state is None:
    return None, 'cannot be read or does not parse'
  problem = checkpoint_problem(state.model_checkpoint_path)
  if problem:
    return None, 'names %s, but %s' % (state.model_checkpoint_path, problem)
  return state.model_checkpoint_path, ''


def newest_safe(train_dir):
  """(global step, prefix) of the checkpoint a rerun in train_dir would resume from (the one the
  state file names, else the newest complete one), or None when there is none."""
  named, _ = _named_checkpoint(train_dir)
  if named:
    return saved_step(named), named
  on_disk = complete_checkpoints(train_dir)
  return on_disk[-1] if on_disk else None


def _damaged_checkpoints(train_dir):
  """'model.ckpt-5 (it cannot be read (...))' for each checkpoint with an .index that is not
  complete."""
  problems = ((prefix, checkpoint_problem(prefix)) for _, prefix in list_checkpoints(train_dir))
  return ['%s (%s)' % (os.path.basename(prefix), problem) for prefix, problem in problems
          if problem]


def repair_state(train_dir):
  """The checkpoint a restart in train_dir resumes from (None: a fresh start).

  When train_dir's `checkpoint` state file does not parse, names a missing or incomplete
  checkpoint, or is missing beside checkpoints, it is rewritten (atomically) to name the newest
  complete checkpoint on disk, with a warning: tf-slim's Supervisor reads that file itself and
  would silently start again from step 0, or crash. UserError when the state file names a
  checkpoint, or the folder holds checkpoints, but none of them is complete and readable.
  """
  named, problem = _named_checkpoint(train_dir)
  if named:
    return named
  on_disk = complete_checkpoints(train_dir)
  state_path = os.path.join(train_dir, STATE_FILENAME)
  if not on_disk:
    found = _damaged_checkpoints(train_dir)
    if os.path.exists(state_path):
      found.insert(0, '%s %s' % (STATE_FILENAME, problem))
    elif not found:
      return None
    raise UserError('%s holds no complete checkpoint to resume from (%s); delete or move away '
                    'its checkpoint files and %s to train from step 0, or give a new '
                    '--train_dir' % (train_dir, '; '.join(found), STATE_FILENAME))
  step, newest = on_disk[-1]
  logging.warning('%s %s; resuming from %s (step %d), the newest complete checkpoint there, and '
                  'rewriting %s to name it.', state_path, problem, newest, step, state_path)
  tf.compat.v1.train.update_checkpoint_state(train_dir, newest,
                                             [prefix for _, prefix in on_disk])
  return newest


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


def check_resumable(checkpoint, variables):
  """UserError unless the checkpoint holds every variable with its shape: a training folder
  trained with another model, class count or optimizer cannot be resumed."""
  saved = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  check_variables(checkpoint, saved, {var.op.name: var for var in variables},
                  lambda *_: 'it was trained with other settings (--model_name, number of '
                  'classes, --optimizer, --moving_average_decay, --trainable_scopes); resume '
                  'with those, or give a new --train_dir')


def check_evaluable(checkpoint, variables, model_name):
  """UserError unless the checkpoint holds every variable ({name: variable}, see
  eval_variables_to_restore) with its shape; CheckpointGone when it cannot be read any more,
  CheckpointDamaged when it is there but cannot be read."""
  try:
    saved = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  except (tf.errors.OpError, ValueError) as e:
    # TensorFlow raises a bare OpError for a garbage .index, NotFoundError for missing files.
    if exists(checkpoint) and not isinstance(e, tf.errors.NotFoundError):
      raise CheckpointDamaged('checkpoint %s cannot be read: %s' % (checkpoint, first_line(e)))
    raise CheckpointGone(first_line(e))

  def advice(name, saved_shape):
    if saved_shape is not None:
      return ('check --model_name (%s) and --dataset_name/--dataset_dir (number of classes)'
              % model_name)
    if name.endswith('/ExponentialMovingAverage'):
      return ('it holds no moving averages: evaluate without --moving_average_decay, or train '
              'with it')
    return 'it was not trained as %s; check --model_name / --use_batch_norm' % model_name

  check_variables(checkpoint, saved, dict(sorted(variables.items())), advice)


def eval_variables_to_restore(moving_average_decay, global_step):
  """{checkpoint name: variable} for evaluation: the model variables (their moving averages when
  decay is given, as the trainer keeps them for slim.get_model_variables()) and the global
  step."""
  if moving_average_decay:
    averages = tf.train.ExponentialMovingAverage(moving_average_decay, global_step)
    names = averages.variables_to_restore(slim.get_model_variables())
  else:
    names = {v.op.name: v for v in slim.get_model_variables()}
  names[global_step.op.name] = global_step
  return names


def _under(name, scopes):
  return any(name == s or name.startswith(s.rstrip('/') + '/') for s in scopes)


def variables_to_restore(exclude_scopes=()):
  """The model variables of the graph outside exclude_scopes."""
  return [v for v in slim.get_model_variables() if not _under(v.op.name, exclude_scopes)]


def _fine_tune_advice(name, saved_shape):
  if saved_shape is None:
    return 'pass --ignore_missing_vars or --checkpoint_exclude_scopes'
  return 'exclude it with --checkpoint_exclude_scopes=%s' % name.rsplit('/', 1)[0]


def fine_tune_init_fn(checkpoint_path, exclude_scopes=(), ignore_missing_vars=False):
  """init_fn(sess) restoring the model variables (minus exclude_scopes) from a checkpoint.

  Shapes are checked now, so a checkpoint of another shape is one clear error naming the
  variable, not a traceback from inside the session.
  """
  path = resolve(checkpoint_path)
  problem = checkpoint_problem(path)
  if problem:
    raise UserError('cannot read checkpoint %s: %s' % (path, problem))
  reader = tf.train.load_checkpoint(path)
  for scope in exclude_scopes:
    if not any(_under(v.op.name, [scope]) for v in slim.get_model_variables()):
      raise UserError('--checkpoint_exclude_scopes=%s matches no variable of the net (its scopes '
                      'are like %s)' % (scope, slim.get_model_variables()[-1].op.name.rsplit(
                          '/', 1)[0]))
  var_list = {var.op.name: var for var in variables_to_restore(exclude_scopes)}
  missing = check_variables(
      path, reader.get_variable_to_shape_map(), var_list, _fine_tune_advice,
      missing_ok=ignore_missing_vars)
  for name in missing:
    logging.warning('Checkpoint %s has no %s; it keeps its initial value.', path, name)
    del var_list[name]
  if not var_list:
    raise UserError('nothing to restore from %s: %s' % (path, 'no model variable of this net is '
                                                        'in it' if missing else
                                                        '--checkpoint_exclude_scopes excludes '
                                                        'every variable'))
  logging.info('Fine-tuning from %s: restoring %d variables.', path, len(var_list))
  saver = tf.compat.v1.train.Saver(var_list)
  return lambda sess: saver.restore(sess, path)


def load_eval_state(eval_dir, checkpoint_dir, claim=True):
  """The state of an earlier evaluator of the same training folder in eval_dir, or a fresh one:
  {'checkpoint_dir', 'last_step', 'evaluated': [...], 'skipped': [...], 'summarized': [steps]}.

  The state of another training folder is replaced by a fresh one (with a warning), or, with
  claim=False, gives None: the caller leaves it as it is.
  """
  fresh = {'checkpoint_dir': os.path.realpath(checkpoint_dir), 'last_step': -1,
           'evaluated': [], 'skipped': [], 'summarized': []}
  path = os.path.join(eval_dir, EVAL_STATE_FILENAME)
  try:
    with open(path, encoding='utf-8') as f:
      state = json.load(f)
  except FileNotFoundError:
    return fresh
  except (OSError, ValueError) as e:
    logging.warning('Ignoring unreadable %s (%s); evaluating from the start.', path, e)
    return fresh
  if not isinstance(state, dict) or state.get('checkpoint_dir') != fresh['checkpoint_dir']:
    if not claim:
      return None
    logging.warning('%s belongs to another training folder (%s); evaluating %s from the start.',
                    path, state.get('checkpoint_dir') if isinstance(state, dict) else '?',
                    checkpoint_dir)
    return fresh
  for key, value in fresh.items():
    state.setdefault(key, value)
  return state


def save_eval_state(eval_dir, state):
  base.write_text_atomic(os.path.join(eval_dir, EVAL_STATE_FILENAME),
                         json.dumps(state, indent=2, sort_keys=True) + '\n')


def summaries_written(state, step):
  """True when eval_dir already holds the summaries of this step (a rerun must not write them a
  second time: TensorBoard would show both)."""
  return step in state['summarized'] or any(e.get('step') == step for e in state['evaluated'])


def record_summaries(eval_dir, state, step):
  """Notes in eval_dir's state, at once, that the summaries of step are written."""
  state['summarized'] = sorted(set(state['summarized']) | {step})
  save_eval_state(eval_dir, state)
