"""The one compat seam between tf-slim 1.1.0 and TensorFlow 2.21.

tf-slim's gradient helpers (in tf_slim.learning) refer to `ops.IndexedSlices` and `ops.Tensor`,
which TF 2.21's tensorflow.python.framework.ops no longer has, so `create_train_op(summarize_gradients=True)`,
`create_train_op(clip_gradient_norm=...)`, `clip_gradient_norms` and `gradient_multipliers` die with
AttributeError. Here are working versions of those transforms, fed to tf-slim's own create_train_op
(tf_slim.training.training, which slim.learning's wraps) through its `transform_grads_fn` hook;
everything else of tf-slim is used as it is.
(tfexample_decoder.Image, also broken, is avoided: datasets/converted.py decodes with its own handler.)
"""
import tensorflow as tf
from tf_slim.training import training as slim_training


def _map_gradient(grad, fn):
  """Applies fn to a dense gradient or to the values of an IndexedSlices gradient."""
  if isinstance(grad, tf.IndexedSlices):
    return tf.IndexedSlices(fn(grad.values), grad.indices, grad.dense_shape)
  return fn(grad)


def clip_gradient_norms(grads_and_vars, max_norm):
  """Clips each gradient to L2 norm max_norm (research/slim's --clip_gradient_norm semantics)."""
  return [(None if g is None else _map_gradient(g, lambda t: tf.clip_by_norm(t, max_norm)), v)
          for g, v in grads_and_vars]


def multiply_gradients(grads_and_vars, multipliers):
  """Scales the gradient of each variable (or variable op name) in `multipliers`."""
  out = []
  for grad, var in grads_and_vars:
    factor = multipliers.get(var, multipliers.get(var.op.name))
    if grad is not None and factor is not None:
      grad = _map_gradient(grad, lambda t, f=factor: t * tf.cast(f, t.dtype))
    out.append((grad, var))
  return out


def add_gradient_summaries(grads_and_vars):
  """Histograms of each gradient and of its norm."""
  for grad, var in grads_and_vars:
    if grad is None:
      continue
    values = grad.values if isinstance(grad, tf.IndexedSlices) else grad
    tf.compat.v1.summary.histogram(var.op.name + '/gradient', values)
    tf.compat.v1.summary.scalar(var.op.name + '/gradient_norm', tf.norm(values))


NON_FINITE_MESSAGE = 'Loss or gradients are inf or nan'


def assert_finite(grads_and_vars, total_loss):
  """Makes every gradient depend on a check that the loss and the gradient norm are finite, so a
  NaN/Inf step fails *before* the optimizer touches the weights (tf-slim's own check_numerics
  runs after the update, which lets NaN weights reach a checkpoint)."""
  grads = [g for g, _ in grads_and_vars if g is not None]
  norm = tf.linalg.global_norm(grads)
  check = tf.debugging.Assert(
      tf.logical_and(tf.math.is_finite(total_loss), tf.math.is_finite(norm)),
      [NON_FINITE_MESSAGE + '. total_loss:', total_loss, 'gradient norm:', norm],
      name='loss_is_finite')
  with tf.control_dependencies([check]):
    return [(None if g is None else _map_gradient(g, tf.identity), v) for g, v in grads_and_vars]


def create_train_op(total_loss, optimizer, global_step=None, update_ops=None,
                    variables_to_train=None, clip_gradient_norm=0, gradient_multipliers=None,
                    summarize_gradients=False, check_numerics=True):
  """tf-slim's create_train_op with working gradient transforms.

  The train op runs the update ops (batch-norm moving averages etc.) before each step and returns
  the total loss. With check_numerics the step fails before any weight is changed.
  """

  def transform(grads_and_vars):
    if gradient_multipliers:
      grads_and_vars = multiply_gradients(grads_and_vars, gradient_multipliers)
    if clip_gradient_norm > 0:
      grads_and_vars = clip_gradient_norms(grads_and_vars, clip_gradient_norm)
    if check_numerics:
      grads_and_vars = assert_finite(grads_and_vars, total_loss)
    if summarize_gradients:
      add_gradient_summaries(grads_and_vars)
    return grads_and_vars

  kwargs = {}
  if global_step is not None:
    kwargs['global_step'] = global_step
  return slim_training.create_train_op(
      total_loss, optimizer, update_ops=update_ops, variables_to_train=variables_to_train,
      transform_grads_fn=transform, summarize_gradients=False, check_numerics=False,
      colocate_gradients_with_ops=True, **kwargs)
