"""What training does with checkpoints: the one a restart resumes from (repairing the state file
TensorFlow keeps), whether a checkpoint can be resumed with this graph, and the fine-tuning
start from another run's checkpoint."""
import os

import tensorflow as tf
import tf_slim as slim
from absl import logging

from base import UserError
from rundir import checkpoints


def newest_safe(train_dir):
  """(global step, prefix) of the checkpoint a rerun in train_dir would resume from (the one the
  state file names, else the newest complete one), or None when there is none."""
  named, _ = checkpoints.named_checkpoint(train_dir)
  if named:
    return checkpoints.saved_step(named), named
  on_disk = checkpoints.complete_checkpoints(train_dir)
  return on_disk[-1] if on_disk else None


def _damaged_checkpoints(train_dir):
  """'model.ckpt-5 (it cannot be read (...))' for each checkpoint with an .index that is not
  complete."""
  problems = ((prefix, checkpoints.checkpoint_problem(prefix))
              for _, prefix in checkpoints.list_checkpoints(train_dir))
  return ['%s (%s)' % (os.path.basename(prefix), problem) for prefix, problem in problems
          if problem]


def repair_state(train_dir):
  """The checkpoint a restart in train_dir resumes from (None: a fresh start).

  When train_dir's `checkpoint` state file does not parse, names a missing or incomplete
  checkpoint, or is missing beside checkpoints, it is rewritten (atomically) to name the newest
  complete checkpoint on disk, with a warning: tf-slim's Supervisor reads that file itself and
  would silently start again from step 0, or crash. So is a state file naming a checkpoint
  outside train_dir (a copied or moved run folder: TensorFlow wrote absolute paths): only the
  folder's own checkpoints are resumed from, and rotated away. UserError when the state file
  names a checkpoint, or the folder holds checkpoints, but none is complete and readable.
  """
  named, problem = checkpoints.named_checkpoint(train_dir)
  if named:
    return named
  on_disk = checkpoints.complete_checkpoints(train_dir)
  state_path = os.path.join(train_dir, checkpoints.STATE_FILENAME)
  if not on_disk:
    found = _damaged_checkpoints(train_dir)
    if os.path.exists(state_path):
      found.insert(0, '%s %s' % (checkpoints.STATE_FILENAME, problem))
    elif not found:
      return None
    raise UserError('%s holds no complete checkpoint to resume from (%s); delete or move away '
                    'its checkpoint files and %s to train from step 0, or give a new '
                    '--train_dir' % (train_dir, '; '.join(found), checkpoints.STATE_FILENAME))
  step, newest = on_disk[-1]
  logging.warning('%s %s; resuming from %s (step %d), the newest complete checkpoint there, and '
                  'rewriting %s to name it.', state_path, problem, newest, step, state_path)
  checkpoints.write_state(train_dir, [prefix for _, prefix in on_disk])
  return newest


def check_resumable(checkpoint, variables):
  """UserError unless the checkpoint holds every variable with its shape: a training folder
  trained with another model, class count or optimizer cannot be resumed."""
  saved = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  checkpoints.check_variables(checkpoint, saved, {var.op.name: var for var in variables},
                  lambda *_: 'it was trained with other settings (--model_name, number of '
                  'classes, --optimizer, --moving_average_decay, --trainable_scopes); resume '
                  'with those, or give a new --train_dir')


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
  path = checkpoints.resolve(checkpoint_path)
  problem = checkpoints.checkpoint_problem(path)
  if problem:
    raise UserError('cannot read checkpoint %s: %s' % (path, problem))
  reader = tf.train.load_checkpoint(path)
  for scope in exclude_scopes:
    if not any(_under(v.op.name, [scope]) for v in slim.get_model_variables()):
      raise UserError('--checkpoint_exclude_scopes=%s matches no variable of the net (its scopes '
                      'are like %s)' % (scope, slim.get_model_variables()[-1].op.name.rsplit(
                          '/', 1)[0]))
  var_list = {var.op.name: var for var in variables_to_restore(exclude_scopes)}
  missing = checkpoints.check_variables(
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
