"""Weight decay folded into the gradients: it trains what the L2 loss trained, and the training step
no longer computes the regularization losses."""
import logging

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim

import compat
from training import gradients
from training import optimization
from training import train_config
from training import trainer
from training.steps import StepFunction

DECAY = 0.01  # large, so that a step without it (or with it twice) is far off


def _small_net_step(optimizer_name, folded, clip_gradient_norm, steps=5):
  """The weights after `steps` steps of a small conv net with slim's L2 regularizer, from a fixed
  start on a fixed batch: the decay in the loss (plain) or in the gradients (folded)."""
  rng = np.random.RandomState(0)
  images = rng.uniform(-1, 1, [4, 8, 8, 3]).astype(np.float32)
  labels = np.array([0, 1, 2, 1])
  start = {'conv1': rng.normal(0, 0.3, [3, 3, 3, 8]), 'conv2': rng.normal(0, 0.3, [3, 3, 8, 8]),
           'logits': rng.normal(0, 0.3, [8 * 8 * 8, 3])}
  with tf.Graph().as_default():
    with slim.arg_scope([slim.conv2d, slim.fully_connected],
                        weights_regularizer=slim.l2_regularizer(DECAY),
                        biases_initializer=tf.compat.v1.constant_initializer(0.1)):
      net = tf.constant(images)
      for name in ('conv1', 'conv2'):
        net = slim.conv2d(net, 8, [3, 3], scope=name,
                          weights_initializer=tf.compat.v1.constant_initializer(start[name]))
      logits = slim.fully_connected(
          slim.flatten(net), 3, activation_fn=None, scope='logits',
          weights_initializer=tf.compat.v1.constant_initializer(start['logits']))
    cross_entropy = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
    regularization_losses = tf.compat.v1.losses.get_regularization_losses()
    assert len(regularization_losses) == 3  # the weights; no decay on the biases
    global_step = tf.compat.v1.train.get_or_create_global_step()
    optimizer = optimization.optimizer(optimizer_name, 0.1)
    if folded:
      train_op = compat.create_train_op(
          cross_entropy, optimizer, global_step=global_step,
          transform_grads_fn=gradients.transform(
              cross_entropy, regularization_losses=regularization_losses,
              clip_gradient_norm=clip_gradient_norm))
    else:
      total_loss = cross_entropy + tf.add_n(regularization_losses)
      train_op = compat.create_train_op(total_loss, optimizer, global_step=global_step,
                                        clip_gradient_norm=clip_gradient_norm)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for _ in range(steps):
        sess.run(train_op)
      return sess.run({v.op.name: v for v in tf.compat.v1.trainable_variables()})


@pytest.mark.parametrize('optimizer_name', ['sgd', 'momentum', 'rmsprop', 'adam'])
@pytest.mark.parametrize('clip_gradient_norm', [0.0, 0.05])
def test_weight_decay_in_the_gradients_trains_as_the_l2_loss(optimizer_name, clip_gradient_norm):
  # For every optimizer: it is the gradient that is the same (not AdamW's decoupled decay).
  plain = _small_net_step(optimizer_name, False, clip_gradient_norm)
  folded = _small_net_step(optimizer_name, True, clip_gradient_norm)
  start = _small_net_step(optimizer_name, True, clip_gradient_norm, steps=0)
  for name, value in plain.items():
    np.testing.assert_allclose(folded[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
  moved = max(np.abs(plain[n] - start[n]).max() for n in plain)
  assert moved > 1e-3  # the steps did train


def _train_op_and_weights(weight_decay, learning_rate=0.01):
  config = train_config.TrainConfig(dataset_dir='unused', train_dir='', batch_size=2,
                                    weight_decay=weight_decay, learning_rate=learning_rate,
                                    learning_rate_decay_type='fixed')
  images = tf.random.stateless_uniform([2, 224, 224, 3], [1, 2], -1.0, 1.0)
  return trainer.build_train_op(config, images, tf.constant([0, 3], tf.int64), 5, 100)


def _ops_run_by(fetch):
  ops, todo = set(), [fetch.op]
  while todo:
    op = todo.pop()
    if op not in ops:
      ops.add(op)
      todo.extend([t.op for t in op.inputs] + list(op.control_inputs))
  return ops


def test_the_training_step_computes_no_regularization_loss():
  with tf.Graph().as_default():
    built = _train_op_and_weights(0.0005)
    regularization_losses = tf.compat.v1.losses.get_regularization_losses()
    assert len(regularization_losses) == 8  # conv1..fc8's weights
    step = _ops_run_by(built.train_op)
    assert not [loss.op.name for loss in regularization_losses if loss.op in step]
    assert built.regularization.op not in step and built.total_loss.op not in step
    # but their gradient is there: the weights' decay term (scale * w)
    assert any(op.name.startswith('gradients') and 'Regularizer' in op.name for op in step)


def test_the_trainer_steps_along_the_gradient_of_cross_entropy_plus_weight_decay():
  with tf.Graph().as_default():
    # a rate so small that the weights the expected gradient reads, before or after the update
    # of the same run, are the same
    built = _train_op_and_weights(0.05, learning_rate=1e-12)
    names = ('alexnet_v2/conv1/weights', 'alexnet_v2/fc8/weights', 'alexnet_v2/fc8/biases')
    weights = [v for v in tf.compat.v1.trainable_variables() if v.op.name in names]
    # the plain formulation, on the same forward pass (the same dropout masks)
    expected = tf.compat.v1.gradients(built.total_loss, weights)
    momentum = {v.op.name: v for v in tf.compat.v1.global_variables()
                if v.op.name.endswith('/Momentum')}
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      _, wanted, start = sess.run([built.train_op, expected, weights])
      # after one step from zero, the momentum accumulator is the gradient the optimizer got
      got = sess.run([momentum[v.op.name + '/Momentum'] for v in weights])
    for name, w, g, e in zip(names, start, got, wanted):
      np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-6, err_msg=name)
      if name.endswith('weights'):  # the decay is a visible part of it
        assert np.abs(0.05 * w).max() > 1e-3 * np.abs(e).max(), name


def test_the_progress_line_shows_the_total_loss_not_the_train_ops_cross_entropy(caplog):
  class Session:
    def run(self, fetches):
      if fetches == 'global_step':
        return 0
      # the train op gives the cross entropy; log_tensors' loss is the total
      return 0.5, {'loss': 0.75, 'accuracy': 1.0, 'learning_rate': 0.01}

  caplog.set_level(logging.INFO)
  StepFunction({'loss': 'total_loss'}, 2, 10, 1)(Session(), 'train_op', 'global_step', {})
  [line] = [m for m in caplog.messages if m.startswith('step ')]
  assert 'loss 0.7500' in line, line
