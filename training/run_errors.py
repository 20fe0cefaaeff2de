"""TensorFlow's errors of a training run that have a cause the user can act on, as one-line
UserErrors: a loss or gradients that became NaN or Inf, a lost ps task, a damaged shard."""
import contextlib

import tensorflow as tf

from base import UserError
from datasets import checks
from training import cluster as cluster_lib
from training import gradients


def lost_message(config, error):
  """The line of a task that lost the connection to a ps task, naming the newest checkpoint."""
  return cluster_lib.lost_message(error, config.cluster,
                                  tf.train.latest_checkpoint(config.train_dir))


@contextlib.contextmanager
def user_errors(config, dataset, step_fn):
  """TensorFlow's errors that have a cause the user can act on, as one-line UserErrors."""
  try:
    yield
  except tf.errors.InvalidArgumentError as e:
    if gradients.NON_FINITE_MESSAGE not in str(e):
      raise
    newest = tf.train.latest_checkpoint(config.train_dir)
    raise UserError(
        'the loss or the gradients became NaN or Inf after step %s, so training stopped before '
        'the weights changed; lower --learning_rate (%g) or set --clip_gradient_norm. Newest '
        'checkpoint: %s' % (step_fn.step or 0, config.learning_rate, newest or 'none'))
  except tf.errors.UnavailableError as e:
    if config.cluster is None:
      raise
    raise UserError(lost_message(config, e))
  except tf.errors.DataLossError:
    # TensorFlow's message says only "corrupted record at N": find and name the shard.
    damaged = checks.damaged_shards_error(dataset.data_sources, config.dataset_dir,
                                          config.dataset_name)
    if damaged is None:
      raise
    raise damaged from None
