"""TensorFlow's errors of a training run that have a cause the user can act on, as one-line
UserErrors: a loss or gradients that became NaN or Inf, a lost ps task, a damaged shard, a
dataset converted again under the run."""
import contextlib

import tensorflow as tf

from base import UserError
from datasets import checks
from datasets import identity
from training import cluster as cluster_lib
from training import gradients


def lost_message(config, error):
  """The line of a task that lost the connection to a ps task, naming the newest checkpoint."""
  return cluster_lib.lost_message(error, config.cluster,
                                  tf.train.latest_checkpoint(config.train_dir))


def dataset_changed(config, dataset, step):
  """The UserError of a dataset converted again since training opened it (identity), naming the
  step reached (no checkpoint is saved after the change); None while the folder holds the
  dataset training opened."""
  return identity.changed_error(dataset, 'training', (
      'training stopped at step %d without saving it, so its checkpoints are of the dataset it '
      'started on; resume it on that one (convert those photos into %s again), or train on the '
      'new one with a new --train_dir' % (step or 0, config.dataset_dir)))


def check_dataset(config, dataset, step_fn):
  """Raises dataset_changed's UserError when the dataset changed under the run."""
  changed = dataset_changed(config, dataset, step_fn.step)
  if changed is not None:
    raise changed


@contextlib.contextmanager
def user_errors(config, dataset, step_fn):
  """TensorFlow's errors that have a cause the user can act on, as one-line UserErrors. Any of
  them after the dataset changed under the run (a shard gone, a label out of range) is that."""
  try:
    yield
  except tf.errors.OpError as e:
    known = (dataset_changed(config, dataset, step_fn.step)
             or _known_cause(config, dataset, step_fn, e))
    if known is None:
      raise
    raise known from None


def _known_cause(config, dataset, step_fn, error):
  """The UserError of a TensorFlow error whose cause the user can act on, else None."""
  if isinstance(error, tf.errors.InvalidArgumentError):
    if gradients.NON_FINITE_MESSAGE not in str(error):
      return None
    newest = tf.train.latest_checkpoint(config.train_dir)
    return UserError(
        'the loss or the gradients became NaN or Inf after step %s, so training stopped before '
        'the weights changed; lower --learning_rate (%g) or set --clip_gradient_norm. Newest '
        'checkpoint: %s' % (step_fn.step or 0, config.learning_rate, newest or 'none'))
  if isinstance(error, tf.errors.UnavailableError) and config.cluster is not None:
    return UserError(lost_message(config, error))
  if isinstance(error, tf.errors.DataLossError):
    # TensorFlow's message says only "corrupted record at N": find and name the shard.
    return checks.damaged_shards_error(dataset.data_sources, config.dataset_dir,
                                       config.dataset_name)
  return None
