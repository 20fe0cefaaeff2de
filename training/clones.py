"""Clones: the model, its losses and its training metrics for one batch, split over devices."""
import collections

import tensorflow as tf

from base import UserError

Clones = collections.namedtuple('Clones', [
    'logits',          # [B, C] for the whole batch, clone outputs concatenated
    'end_points',      # the first clone's end points
    'images',          # the first clone's images (its first one goes to the prediction summary)
    'labels',          # [B] for the whole batch
    'cross_entropy',   # mean over the clones
    'scope',           # the first clone's name scope (its UPDATE_OPS are the ones to run)
])


def clone_devices(num_clones, clone_on_cpu, num_gpus):
  """Model devices: one GPU per clone when there are GPUs, else the CPU."""
  if num_clones < 1:
    raise UserError('--num_clones must be at least 1, got %d' % num_clones)
  if clone_on_cpu or num_gpus == 0:
    return ['/cpu:0'] * num_clones
  if num_clones > num_gpus:
    raise UserError('--num_clones=%d but only %d GPU(s) are visible; lower it or pass '
                    '--clone_on_cpu' % (num_clones, num_gpus))
  return ['/gpu:%d' % i for i in range(num_clones)]


def variables_device(devices):
  """Variables live with a single clone, or on the CPU when clones share them."""
  return devices[0] if len(devices) == 1 else '/cpu:0'


_VARIABLE_OPS = ('Variable', 'VariableV2', 'VarHandleOp')


def _placer(compute_device, variable_device):
  """A device function: variables on variable_device, every other op on compute_device.
  (A device function, not slim's arg_scope device: the net's own arg scope replaces outer ones.)"""
  return lambda op: variable_device if op.type in _VARIABLE_OPS else compute_device


def build_clones(network_fn, images, labels, num_classes, devices, label_smoothing=0.0,
                 variable_device=None):
  """Splits the batch evenly over `devices`, runs the net on each part and averages the losses.
  The variables go to `variable_device` (default: variables_device(devices))."""
  num_clones = len(devices)
  batch_size = images.shape[0]
  if batch_size is not None and batch_size % num_clones:
    raise UserError('--batch_size=%d does not split evenly over --num_clones=%d'
                    % (batch_size, num_clones))
  image_parts = tf.split(images, num_clones) if num_clones > 1 else [images]
  label_parts = tf.split(labels, num_clones) if num_clones > 1 else [labels]
  logits, losses, first = [], [], None
  for i, device in enumerate(devices):
    placer = _placer(device, variable_device or variables_device(devices))
    with tf.name_scope('clone_%d' % i) as scope, tf.compat.v1.device(placer):
      with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=i > 0):
        clone_logits, end_points = network_fn(image_parts[i])
      onehot = tf.one_hot(label_parts[i], num_classes)
      losses.append(tf.compat.v1.losses.softmax_cross_entropy(
          onehot, clone_logits, label_smoothing=label_smoothing, loss_collection=None))
      logits.append(clone_logits)
      if first is None:
        first = (end_points, image_parts[i], scope)
  cross_entropy = tf.add_n(losses) / float(num_clones) if num_clones > 1 else losses[0]
  all_logits = tf.concat(logits, 0) if num_clones > 1 else logits[0]
  return Clones(all_logits, first[0], first[1], labels, cross_entropy, first[2])


def regularization_loss():
  losses = tf.compat.v1.losses.get_regularization_losses()
  return tf.add_n(losses, name='regularization_loss') if losses else tf.constant(0.0)


def batch_accuracy(logits, labels):
  predictions = tf.argmax(logits, 1)
  return tf.reduce_mean(tf.cast(tf.equal(predictions, tf.cast(labels, tf.int64)), tf.float32))


def moving_average_update(value, decay, name):
  """A non-trainable variable that follows `value` with an exponential moving average; returns
  (variable, update op). The first update takes the value as it is."""
  with tf.compat.v1.variable_scope(name):
    average = tf.compat.v1.get_variable('average', [], tf.float32, trainable=False,
                                        initializer=tf.compat.v1.zeros_initializer())
    count = tf.compat.v1.get_variable('count', [], tf.float32, trainable=False,
                                      initializer=tf.compat.v1.zeros_initializer())
  rate = tf.where(count > 0, 1.0 - decay, 1.0)
  update = tf.group(average.assign_add(rate * (value - average)), count.assign_add(1.0))
  return average, update
