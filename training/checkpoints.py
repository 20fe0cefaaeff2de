"""Finding checkpoints and initialising a model from one (fine-tuning)."""
import os

import tensorflow as tf
import tf_slim as slim
from absl import logging

from datasets.dataset_utils import UserError


def resolve(checkpoint_path):
  """A checkpoint prefix from a prefix or a folder (its newest); None when a folder has none."""
  if os.path.isdir(checkpoint_path):
    return tf.train.latest_checkpoint(checkpoint_path)
  if tf.io.gfile.exists(checkpoint_path + '.index') or tf.io.gfile.exists(checkpoint_path):
    return checkpoint_path
  raise UserError('checkpoint %s does not exist (give a checkpoint prefix such as '
                  'model.ckpt-1000, or a folder holding checkpoints)' % checkpoint_path)


def _under(name, scopes):
  return any(name == s or name.startswith(s.rstrip('/') + '/') for s in scopes)


def variables_to_restore(exclude_scopes=()):
  """The model variables of the graph outside exclude_scopes."""
  return [v for v in slim.get_model_variables() if not _under(v.op.name, exclude_scopes)]


def fine_tune_init_fn(checkpoint_path, exclude_scopes=(), ignore_missing_vars=False):
  """init_fn(sess) restoring the model variables (minus exclude_scopes) from a checkpoint.

  Shapes are checked now, so a checkpoint of another shape is one clear error naming the
  variable, not a traceback from inside the session.
  """
  path = resolve(checkpoint_path)
  if path is None:
    raise UserError('no checkpoint in %s' % checkpoint_path)
  try:
    reader = tf.train.load_checkpoint(path)
  except (tf.errors.OpError, ValueError) as e:
    raise UserError('cannot read checkpoint %s: %s' % (path, str(e).splitlines()[0]))
  saved_shapes = reader.get_variable_to_shape_map()
  var_list = {}
  for var in variables_to_restore(exclude_scopes):
    name = var.op.name
    if name not in saved_shapes:
      if ignore_missing_vars:
        logging.warning('Checkpoint %s has no %s; it keeps its initial value.', path, name)
        continue
      raise UserError('checkpoint %s has no variable %s; pass --ignore_missing_vars or '
                      '--checkpoint_exclude_scopes' % (path, name))
    want = var.shape.as_list()
    if saved_shapes[name] != want:
      raise UserError('checkpoint %s holds %s with shape %s but the model needs %s; exclude it '
                      'with --checkpoint_exclude_scopes=%s' % (path, name, saved_shapes[name],
                                                                want, name.rsplit('/', 1)[0]))
    var_list[name] = var
  if not var_list:
    raise UserError('nothing to restore from %s: no model variable of this net is in it' % path)
  logging.info('Fine-tuning from %s: restoring %d variables.', path, len(var_list))
  saver = tf.compat.v1.train.Saver(var_list)
  return lambda sess: saver.restore(sess, path)
