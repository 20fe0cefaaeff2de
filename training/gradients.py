"""What training does to each step's gradients beyond tf-slim: a check that the loss and the
gradients are finite before the optimizer applies anything (tf-slim's check_numerics runs after
the update, which lets NaN weights reach a checkpoint), and gradient summaries (tf-slim's are
broken on TF 2.21). Both run as compat.create_train_op's transform_grads_fn."""
import tensorflow as tf

import compat
from summaries import graph_summaries


def add_gradient_summaries(grads_and_vars):
  """Histograms of each gradient (`gradients/<variable>`, beside `weights/<variable>`) and its
  norm (`gradient_norms/<variable>`), built in the summaries' name scope."""
  with tf.name_scope(graph_summaries.SCOPE + '/'):  # the one scope, whoever opens it first
    for grad, var in grads_and_vars:
      if grad is not None:
        values = compat.gradient_values(grad)
        graph_summaries.histogram('gradients/' + var.op.name, values)
        graph_summaries.scalar('gradient_norms/' + var.op.name, tf.norm(values))


NON_FINITE_MESSAGE = 'Loss or gradients are inf or nan'


def assert_finite(grads_and_vars, total_loss):
  """Makes every gradient depend on a check that the loss and the gradient norm are finite, so a
  NaN/Inf step fails *before* the optimizer touches the weights (tf-slim's own check_numerics
  runs after the update, which lets NaN weights reach a checkpoint)."""
  with tf.name_scope('check_finite'):
    grads = [g for g, _ in grads_and_vars if g is not None]
    norm = tf.linalg.global_norm(grads)  # (each gradient's part beside it: scalars move)
    check = tf.debugging.Assert(
        tf.logical_and(tf.math.is_finite(total_loss), tf.math.is_finite(norm)),
        [NON_FINITE_MESSAGE + '. total_loss:', total_loss, 'gradient norm:', norm],
        name='loss_is_finite')
    with tf.control_dependencies([check]):
      return [(None if g is None else compat.map_gradient(g, tf.identity), v)
              for g, v in grads_and_vars]


def transform(total_loss, check_numerics=True, summarize_gradients=False):
  """A transform_grads_fn for compat.create_train_op: the finite check, then the summaries."""

  def apply(grads_and_vars):
    if check_numerics:
      grads_and_vars = assert_finite(grads_and_vars, total_loss)
    if summarize_gradients:
      add_gradient_summaries(grads_and_vars)
    return grads_and_vars

  return apply
