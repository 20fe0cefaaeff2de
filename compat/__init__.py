"""The one compat seam: every workaround for a part of tf-slim 1.1.0 that fails on TF 2.21.

Everything else of tf-slim is used as it is. Each piece here has a test in
tests/compat/test_compat.py that shows the upstream failure it works around (when that test fails,
upstream works again and the piece can go).

- Gradient transforms: tf-slim's clip_gradient_norms, gradient_multipliers and
  create_train_op(summarize_gradients=True) use `ops.IndexedSlices` / `ops.Tensor`, which TF
  2.21's framework.ops no longer has (AttributeError). Working versions are fed to tf-slim's own
  create_train_op through its `transform_grads_fn` hook, where the caller's own transforms
  (training.gradients: the finite check, gradient summaries) follow them.
- batch_norm: slim.batch_norm builds a keras layer (needs the tf_keras package) or, fused, calls
  tf_slim.layers.utils.constant_value (uses the removed ops.Tensor).
- DecodedImage: tfexample_decoder.Image calls the removed control_flow_ops.case.
- prompt_supervisor: slim.learning.train's Supervisor makes a worker that waits for the chief
  retry every 30 s and a sync-replicas chief wait 120 s at the end for its queue runner (blocked
  on gradients that never come); learning.train exposes neither. One process alone waits the
  120 s only after an error: a queue runner that could not start all its threads (out of
  address space: ulimit -v) leaves the others blocked on its queues until the grace ends.
- SyncReplicasOptimizer: that queue runner's thread then dies with a CancelledError traceback
  when the session closes (its QueueRunner takes only OutOfRangeError as "closed").
"""
import contextlib
import types

import tensorflow as tf
import tf_slim as slim
from tf_slim import learning as slim_learning
from tf_slim.training import training as slim_training

from base import BadArgument


def gradient_values(grad):
  """A gradient's values: dense, or those of an IndexedSlices."""
  return grad.values if isinstance(grad, tf.IndexedSlices) else grad


def map_gradient(grad, fn):
  """Applies fn to a dense gradient or to the values of an IndexedSlices gradient, on the
  gradient's device: in a cluster a gradient summed on its ps task (the net's part plus the
  weight decay's) is not sent to the worker and back."""
  with tf.compat.v1.colocate_with(gradient_values(grad)):
    if isinstance(grad, tf.IndexedSlices):
      return tf.IndexedSlices(fn(grad.values), grad.indices, grad.dense_shape)
    return fn(grad)


def clip_gradient_norms(grads_and_vars, max_norm):
  """Clips each gradient to L2 norm max_norm (research/slim's --clip_gradient_norm semantics)."""
  return [(None if g is None else map_gradient(g, lambda t: tf.clip_by_norm(t, max_norm)), v)
          for g, v in grads_and_vars]


def multiply_gradients(grads_and_vars, multipliers):
  """Scales the gradient of each variable (or variable op name) in `multipliers`."""
  out = []
  for grad, var in grads_and_vars:
    factor = multipliers.get(var, multipliers.get(var.op.name))
    if grad is not None and factor is not None:
      grad = map_gradient(grad, lambda t, f=factor: t * tf.cast(f, t.dtype))
    out.append((grad, var))
  return out


def create_train_op(total_loss, optimizer, global_step=None, update_ops=None,
                    variables_to_train=None, clip_gradient_norm=0, gradient_multipliers=None,
                    transform_grads_fn=None):
  """tf-slim's create_train_op with working gradient transforms: multipliers, then clipping,
  then the caller's transform_grads_fn (grads_and_vars -> grads_and_vars), if any.

  The train op runs the update ops (batch-norm moving averages etc.) before each step and returns
  the total loss. tf-slim's own check_numerics and gradient summaries are off (the first runs
  after the update, the second is broken); training.gradients has working ones to pass in.
  """

  def transform(grads_and_vars):
    if gradient_multipliers:
      grads_and_vars = multiply_gradients(grads_and_vars, gradient_multipliers)
    if clip_gradient_norm > 0:
      grads_and_vars = clip_gradient_norms(grads_and_vars, clip_gradient_norm)
    if transform_grads_fn:
      grads_and_vars = transform_grads_fn(grads_and_vars)
    return grads_and_vars

  kwargs = {}
  if global_step is not None:
    kwargs['global_step'] = global_step
  return slim_training.create_train_op(
      total_loss, optimizer, update_ops=update_ops, variables_to_train=variables_to_train,
      transform_grads_fn=transform, summarize_gradients=False, check_numerics=False,
      colocate_gradients_with_ops=True, **kwargs)


# --- layers ---------------------------------------------------------------------------------

@slim.add_arg_scope
def batch_norm(inputs, decay=0.997, epsilon=0.001, scale=False, is_training=True,
               updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS, scope=None):
  """Fused batch norm of an NHWC tensor with slim.batch_norm's variables and update ops.

  slim.batch_norm's fused path, working on TF 2.21: variables BatchNorm/beta, [gamma,] moving_mean,
  moving_variance (so checkpoints interchange), moving averages updated by ops put in
  `updates_collections`, batch statistics while training, moving ones otherwise.
  """
  with tf.compat.v1.variable_scope(scope, 'BatchNorm', [inputs]):
    params_shape = inputs.shape[-1:]
    beta = slim.model_variable('beta', shape=params_shape,
                               initializer=tf.compat.v1.zeros_initializer())
    if scale:
      gamma = slim.model_variable('gamma', shape=params_shape,
                                  initializer=tf.compat.v1.ones_initializer())
    else:
      gamma = tf.ones(params_shape)
    moving_mean = slim.model_variable('moving_mean', shape=params_shape, trainable=False,
                                      initializer=tf.compat.v1.zeros_initializer())
    moving_variance = slim.model_variable('moving_variance', shape=params_shape, trainable=False,
                                          initializer=tf.compat.v1.ones_initializer())

    def training():
      return tf.compat.v1.nn.fused_batch_norm(inputs, gamma, beta, epsilon=epsilon)

    def inference():
      outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
          inputs, gamma, beta, mean=moving_mean, variance=moving_variance, epsilon=epsilon,
          is_training=False)
      return outputs, tf.identity(moving_mean), tf.identity(moving_variance)

    if isinstance(is_training, bool):
      if not is_training:
        return inference()[0]
      _check_batch_statistics(inputs)
      outputs, mean, variance = training()
    else:  # a bool tensor: at inference the updates leave the averages as they are
      outputs, mean, variance = tf.cond(is_training, training, inference)
    decay = _warm_up_decay(decay)
    for average, value in ((moving_mean, mean), (moving_variance, variance)):
      update = tf.compat.v1.assign_sub(average, (average - value) * (1.0 - decay))
      tf.compat.v1.add_to_collections(updates_collections, update)
    outputs.set_shape(inputs.shape)
    return outputs


def _warm_up_decay(decay):
  """decay, or less in a run's first steps: min(decay, (1 + step) / (10 + step)) of the global
  step, tf.train.ExponentialMovingAverage's rule with num_updates. At 0.997 alone the averages
  would still hold 22% of their starting 0 and 1 after 500 steps."""
  step = tf.compat.v1.train.get_global_step()
  if step is None:
    return decay
  step = tf.cast(step, tf.float32)
  return tf.minimum(decay, (1.0 + step) / (10.0 + step))


def _check_batch_statistics(inputs):
  values_per_channel = inputs.shape[:-1].num_elements()
  if values_per_channel == 1:
    raise BadArgument('batch norm in training sees one value per channel at %s (shape %s), which '
                     'it normalizes to 0; use a batch size of at least 2 (16 or more is better)'
                     % (tf.compat.v1.get_variable_scope().name, inputs.shape.as_list()))


# --- reading records ------------------------------------------------------------------------

class DecodedImage(slim.tfexample_decoder.ItemHandler):
  """image/encoded -> uint8 [H, W, 3].

  In place of tfexample_decoder.Image. decode_image reads JPEG (ours) and PNG/GIF/BMP (other
  converters' shards) alike.
  """

  def __init__(self):
    super().__init__(['image/encoded'])

  def tensors_to_item(self, keys_to_tensors):
    image = tf.io.decode_image(keys_to_tensors['image/encoded'], channels=3,
                               expand_animations=False)
    image.set_shape([None, None, 3])
    return image


# --- slim.learning.train's Supervisor ---------------------------------------------------------

RECOVERY_WAIT_SECS = 1   # upstream 30: how often a worker checks whether the chief is ready
STOP_GRACE_SECS = 3      # upstream 120: how long the end waits for threads to stop


class _PromptSupervisor(tf.compat.v1.train.Supervisor):
  """tf.compat.v1.train.Supervisor with short waits (see RECOVERY_WAIT_SECS, STOP_GRACE_SECS)."""

  def __init__(self, *args, recovery_wait_secs=RECOVERY_WAIT_SECS,
               stop_grace_secs=STOP_GRACE_SECS, **kwargs):
    super().__init__(*args, recovery_wait_secs=recovery_wait_secs,
                     stop_grace_secs=stop_grace_secs, **kwargs)


class _PromptOnErrorSupervisor(tf.compat.v1.train.Supervisor):
  """tf.compat.v1.train.Supervisor that gives its threads the upstream 120 s to stop at a clean
  end, but STOP_GRACE_SECS once an error stopped it: the error is raised after the wait anyway,
  and the session's close then frees the threads still blocked on a queue."""

  def request_stop(self, ex=None):
    if ex is not None:
      self._stop_grace_secs = min(self._stop_grace_secs, STOP_GRACE_SECS)
    super().request_stop(ex)


@contextlib.contextmanager
def prompt_supervisor(in_cluster=True):
  """Within: slim.learning.train builds its Supervisor with the short waits (in_cluster), or
  with the short wait after an error only (one process alone)."""
  previous = slim_learning.supervisor
  supervisor = _PromptSupervisor if in_cluster else _PromptOnErrorSupervisor
  slim_learning.supervisor = types.SimpleNamespace(Supervisor=supervisor)
  try:
    yield
  finally:
    slim_learning.supervisor = previous


class SyncReplicasOptimizer(tf.compat.v1.train.SyncReplicasOptimizer):
  """tf.compat.v1.train.SyncReplicasOptimizer whose chief queue runner ends quietly when the
  session closes under it (at the end of a run)."""

  def get_chief_queue_runner(self):
    runner = super().get_chief_queue_runner()
    return tf.compat.v1.train.QueueRunner(
        runner.queue, runner.enqueue_ops,
        queue_closed_exception_types=(tf.errors.OutOfRangeError, tf.errors.CancelledError))
