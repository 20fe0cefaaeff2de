"""What training does to each step's gradients beyond tf-slim: the weight decay added to them
(rather than to the loss), a check that the loss and the gradients are finite before the
optimizer applies anything (tf-slim's check_numerics runs after the update, which lets NaN weights
reach a checkpoint), and gradient summaries (tf-slim's are broken on TF 2.21). All run as
compat.create_train_op's transform_grads_fn."""
import tensorflow as tf

import compat
from summaries import graph_summaries


def add_regularization_gradients(grads_and_vars, regularization_losses):
  """Weight decay folded into the gradients: adds to each variable's gradient the gradient of
  `regularization_losses` (for slim.l2_regularizer(scale) on w, scale * l2_loss(w) = scale *
  sum(w**2) / 2: the gradient scale * w), the very ops tf.gradients builds for a loss that
  includes them. The optimizer gets the gradient of cross entropy + regularization, as before,
  but the step no longer computes the regularization losses' value (an L2Loss pass over every
  weight): that gradient does not need it.

  Each sum is made beside its decay term, where tf.gradients' own sum was: on the ps task for a
  variable whose regularizer runs there, so the weight does not travel to the worker for it."""
  if not regularization_losses:
    return grads_and_vars
  variables = [v for _, v in grads_and_vars]
  decays = tf.compat.v1.gradients(regularization_losses, variables,
                                  colocate_gradients_with_ops=True)
  summed = []
  for (grad, var), decay in zip(grads_and_vars, decays):
    if decay is not None and grad is not None:
      with tf.compat.v1.colocate_with(decay):
        grad = tf.add(tf.convert_to_tensor(grad), decay)
    elif decay is not None:
      grad = decay
    summed.append((grad, var))
  return summed


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


def assert_finite(grads_and_vars, loss):
  """Makes every gradient depend on a check that the loss and the gradient norm are finite, so a
  NaN/Inf step fails *before* the optimizer touches the weights (tf-slim's own check_numerics
  runs after the update, which lets NaN weights reach a checkpoint)."""
  with tf.name_scope('check_finite'):
    grads = [g for g, _ in grads_and_vars if g is not None]
    norm = tf.linalg.global_norm(grads)  # (each gradient's part beside it: scalars move)
    check = tf.debugging.Assert(
        tf.logical_and(tf.math.is_finite(loss), tf.math.is_finite(norm)),
        [NON_FINITE_MESSAGE + '. loss:', loss, 'gradient norm:', norm],
        name='loss_is_finite')
    with tf.control_dependencies([check]):
      return [(None if g is None else compat.map_gradient(g, tf.identity), v)
              for g, v in grads_and_vars]


def transform(loss, check_numerics=True, summarize_gradients=False, regularization_losses=(),
              clip_gradient_norm=0):
  """A transform_grads_fn for compat.create_train_op, in this order: the gradient of
  `regularization_losses` added to that of `loss` (add_regularization_gradients), each gradient
  clipped to the norm clip_gradient_norm (when > 0), the finite check of `loss` and the
  gradients, the summaries. (Pass clip_gradient_norm here, not to create_train_op, so that it
  clips the gradient with the weight decay in it, as when the decay was part of the loss.)"""

  def apply(grads_and_vars):
    grads_and_vars = add_regularization_gradients(grads_and_vars, regularization_losses)
    if clip_gradient_norm > 0:
      grads_and_vars = compat.clip_gradient_norms(grads_and_vars, clip_gradient_norm)
    if check_numerics:
      grads_and_vars = assert_finite(grads_and_vars, loss)
    if summarize_gradients:
      add_gradient_summaries(grads_and_vars)
    return grads_and_vars

  return apply
