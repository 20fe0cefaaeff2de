"""AlexNet v2 and the nets factory: shapes, names, fully-convolutional behaviour, dropout,
batch norm, weight decay."""
import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from tf_slim.nets import alexnet as tf_slim_alexnet

import compat
from base import UserError
from nets import alexnet
from nets import nets_factory
from preprocessing import preprocessing_factory

NUM_CLASSES = 5


def images(batch=1, height=224, width=224, seed=0):
  rng = np.random.default_rng(seed)
  return tf.constant(rng.uniform(-1, 1, (batch, height, width, 3)).astype(np.float32))


def build(inputs, weight_decay=0.0005, use_batch_norm=False, **kwargs):
  kwargs.setdefault('num_classes', NUM_CLASSES)
  with slim.arg_scope(alexnet.alexnet_v2_arg_scope(weight_decay=weight_decay,
                                                   use_batch_norm=use_batch_norm)):
    return alexnet.alexnet_v2(inputs, use_batch_norm=use_batch_norm, **kwargs)


def variable_shapes():
  return {v.op.name: v.shape.as_list() for v in tf.compat.v1.global_variables()}


def initialized_session():
  sess = tf.compat.v1.Session()
  sess.run(tf.compat.v1.global_variables_initializer())
  return sess


# --- shapes -------------------------------------------------------------------------------------

def test_logits_are_batch_by_classes_at_224():
  with tf.Graph().as_default():
    logits, _ = build(images(batch=2))
    assert logits.shape.as_list() == [2, NUM_CLASSES]


def test_larger_image_gives_a_4x7_score_map_without_squeeze():
  with tf.Graph().as_default():
    score_map, _ = build(images(height=300, width=400), spatial_squeeze=False)
    assert score_map.shape.as_list() == [1, 4, 7, NUM_CLASSES]


def test_squeezing_a_score_map_is_a_user_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='spatial_squeeze=False'):
      build(images(height=300, width=400))


def test_image_too_small_for_fc6_is_a_user_error():
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='at least 195x195'):
      build(images(height=194, width=194))


def test_smallest_image_gives_logits():
  with tf.Graph().as_default():
    logits, _ = build(images(height=alexnet.MIN_IMAGE_SIZE, width=alexnet.MIN_IMAGE_SIZE))
    assert logits.shape.as_list() == [1, NUM_CLASSES]


def test_default_image_size_is_224():
  assert alexnet.alexnet_v2.default_image_size == 224


def test_global_pool_equals_average_of_score_map():
  with tf.Graph().as_default():
    inputs = images(height=300, width=400)
    score_map, _ = build(inputs, is_training=False, spatial_squeeze=False)
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
      pooled, _ = build(inputs, is_training=False, global_pool=True)
    assert pooled.shape.as_list() == [1, NUM_CLASSES]
    with initialized_session() as sess:
      score_map, pooled = sess.run([score_map, pooled])
    assert score_map.shape == (1, 4, 7, NUM_CLASSES)
    np.testing.assert_allclose(pooled, score_map.mean(axis=(1, 2)), rtol=1e-4, atol=1e-6)


def test_num_classes_zero_returns_fc7_features():
  with tf.Graph().as_default():
    features, end_points = build(images(batch=2), num_classes=0)
    assert features.shape.as_list() == [2, 4096]
    assert 'alexnet_v2/fc7' in end_points and 'alexnet_v2/fc8' not in end_points
    assert not [name for name in variable_shapes() if '/fc8/' in name]


def test_num_classes_none_returns_fc7_features():
  with tf.Graph().as_default():
    features, _ = build(images(), num_classes=None)
    assert features.shape.as_list() == [1, 4096]


# --- names: checkpoints interchange with tf_slim.nets.alexnet -----------------------------------

def test_end_point_names_and_shapes_match_tf_slim():
  with tf.Graph().as_default():
    _, ours = build(images())
  with tf.Graph().as_default():
    with slim.arg_scope(tf_slim_alexnet.alexnet_v2_arg_scope()):
      _, theirs = tf_slim_alexnet.alexnet_v2(images(), num_classes=NUM_CLASSES)
  assert list(ours) == list(theirs)
  assert ({k: v.shape.as_list() for k, v in ours.items()} ==
          {k: v.shape.as_list() for k, v in theirs.items()})


def test_variable_names_and_shapes_match_tf_slim():
  with tf.Graph().as_default():
    build(images())
    ours = variable_shapes()
  with tf.Graph().as_default():
    with slim.arg_scope(tf_slim_alexnet.alexnet_v2_arg_scope()):
      tf_slim_alexnet.alexnet_v2(images(), num_classes=NUM_CLASSES)
    theirs = variable_shapes()
  assert ours == theirs


@pytest.mark.slow
def test_tf_slim_alexnet_restores_our_checkpoint_and_gives_our_logits(tmp_path):
  checkpoint = str(tmp_path / 'model.ckpt')
  with tf.Graph().as_default():
    logits, _ = build(images(batch=2), is_training=False)
    with initialized_session() as sess:
      ours = sess.run(logits)
      tf.compat.v1.train.Saver().save(sess, checkpoint)
  with tf.Graph().as_default():
    with slim.arg_scope(tf_slim_alexnet.alexnet_v2_arg_scope()):
      logits, _ = tf_slim_alexnet.alexnet_v2(images(batch=2), num_classes=NUM_CLASSES,
                                             is_training=False)
    with tf.compat.v1.Session() as sess:
      tf.compat.v1.train.Saver().restore(sess, checkpoint)
      theirs = sess.run(logits)
  np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


# --- fully connected layers are convolutions ---------------------------------------------------

def test_fc6_as_conv_equals_dense_layer_on_flattened_pool5():
  with tf.Graph().as_default():
    _, end_points = build(images(batch=2), is_training=False)
    weights, biases = slim.get_variables('alexnet_v2/fc6')
    with initialized_session() as sess:
      pool5, fc6, w, b = sess.run([end_points['alexnet_v2/pool5'], end_points['alexnet_v2/fc6'],
                                   weights, biases])
  assert pool5.shape == (2, 5, 5, 256) and w.shape == (5, 5, 256, 4096)
  dense = np.maximum(pool5.reshape(2, -1) @ w.reshape(-1, 4096) + b, 0)
  np.testing.assert_allclose(fc6.reshape(2, 4096), dense, rtol=1e-4, atol=1e-5)


# --- dropout ------------------------------------------------------------------------------------

def test_dropout_is_off_at_eval():
  with tf.Graph().as_default():
    logits, _ = build(images(), is_training=False)
    with initialized_session() as sess:
      np.testing.assert_array_equal(sess.run(logits), sess.run(logits))


def test_dropout_is_on_in_training():
  with tf.Graph().as_default():
    logits, _ = build(images(), is_training=True)
    with initialized_session() as sess:
      assert not np.allclose(sess.run(logits), sess.run(logits))


# --- batch norm ---------------------------------------------------------------------------------

def test_batch_norm_replaces_conv_biases_but_not_fc8s():
  with tf.Graph().as_default():
    build(images(), use_batch_norm=True, is_training=False)
    names = set(variable_shapes())
  layers = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7']
  for layer in layers:
    assert 'alexnet_v2/%s/BatchNorm/moving_mean' % layer in names
    assert 'alexnet_v2/%s/biases' % layer not in names
  assert 'alexnet_v2/fc8/biases' in names
  assert not [name for name in names if name.startswith('alexnet_v2/fc8/BatchNorm')]


def test_batch_norm_from_the_arg_scope_alone_turns_it_on():
  with tf.Graph().as_default():
    with slim.arg_scope(alexnet.alexnet_v2_arg_scope(use_batch_norm=True)):
      alexnet.alexnet_v2(images(), num_classes=NUM_CLASSES, is_training=False)
    assert 'alexnet_v2/conv1/BatchNorm/moving_mean' in variable_shapes()


def test_batch_norm_update_ops_change_moving_means_in_training():
  with tf.Graph().as_default():
    logits, _ = build(images(batch=2), use_batch_norm=True, is_training=True)
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    moving_means = [v for v in tf.compat.v1.global_variables() if 'moving_mean' in v.op.name]
    assert len(moving_means) == 7 and update_ops
    with initialized_session() as sess:
      before = sess.run(moving_means)
      sess.run([logits] + update_ops)
      after = sess.run(moving_means)
  for name, old, new in zip([v.op.name for v in moving_means], before, after):
    assert not np.allclose(old, new), name


def test_batch_norm_training_on_a_batch_of_one_is_a_user_error():
  # fc6 and fc7 are 1x1 at 224x224: their statistics come from the batch alone.
  with tf.Graph().as_default():
    with pytest.raises(ValueError, match='batch size of at least 2'):
      build(images(batch=1), use_batch_norm=True, is_training=True)


def test_batch_norm_at_eval_registers_no_update_ops():
  with tf.Graph().as_default():
    build(images(), use_batch_norm=True, is_training=False)
    assert not tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)


# --- weight decay -------------------------------------------------------------------------------

def test_weight_decay_adds_an_l2_loss_per_weight_tensor():
  with tf.Graph().as_default():
    build(images(), weight_decay=0.0005)
    losses = tf.compat.v1.losses.get_regularization_losses()
    weights = [v for v in tf.compat.v1.global_variables() if v.op.name.endswith('/weights')]
    assert len(losses) == len(weights) == 8
    with initialized_session() as sess:
      total, values = sess.run([tf.add_n(losses), weights])
  expected = sum(0.0005 * np.sum(np.square(w, dtype=np.float64)) / 2 for w in values)
  np.testing.assert_allclose(total, expected, rtol=1e-4)


def test_zero_weight_decay_adds_no_regularization_losses():
  with tf.Graph().as_default():
    build(images(), weight_decay=0.0)
    assert not tf.compat.v1.losses.get_regularization_losses()


# --- factory ------------------------------------------------------------------------------------

def test_factory_alexnet_v2_builds_alexnet_v2():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('alexnet_v2', NUM_CLASSES)
    logits, _ = network_fn(images())
    from_factory = variable_shapes()
  with tf.Graph().as_default():
    build(images())
    direct = variable_shapes()
  assert network_fn.default_image_size == 224
  assert logits.shape.as_list() == [1, NUM_CLASSES]
  assert from_factory == direct


def test_factory_alexnet_v2_bn_uses_batch_norm_in_training_mode():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('alexnet_v2_bn', NUM_CLASSES, is_training=True)
    network_fn(images(batch=2))
    assert 'alexnet_v2/conv1/BatchNorm/moving_mean' in variable_shapes()
    assert tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
  assert network_fn.default_image_size == 224


def test_factory_applies_weight_decay():
  with tf.Graph().as_default():
    nets_factory.get_network_fn('alexnet_v2', NUM_CLASSES, weight_decay=0.0005)(images())
    assert len(tf.compat.v1.losses.get_regularization_losses()) == 8


def test_factory_passes_options_and_call_kwargs_to_the_net():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('alexnet_v2', NUM_CLASSES, global_pool=True)
    pooled, _ = network_fn(images(height=300, width=400))
    score_map, _ = network_fn(images(height=300, width=400), global_pool=False,
                              spatial_squeeze=False, scope='other')
  assert pooled.shape.as_list() == [1, NUM_CLASSES]
  assert score_map.shape.as_list() == [1, 4, 7, NUM_CLASSES]


def test_factory_rejects_unknown_network():
  with pytest.raises(ValueError, match='unknown network "vgg_16"; choose one of alexnet_tv, '
                                       'alexnet_v2, alexnet_v2_bn'):
    nets_factory.get_network_fn('vgg_16', NUM_CLASSES)


def test_the_image_size_is_the_flag_s_or_the_net_s_default():
  assert nets_factory.image_size('alexnet_v2') == 224
  assert nets_factory.image_size('alexnet_tv', 0) == 224
  assert nets_factory.image_size('alexnet_v2_bn', 195) == 195
  with pytest.raises(UserError, match='unknown network'):
    nets_factory.image_size('vgg_16')


def test_factory_rejects_unknown_option():
  with pytest.raises(ValueError, match='no option "dropout"'):
    nets_factory.get_network_fn('alexnet_v2', NUM_CLASSES, dropout=0.5)


def test_factory_rejects_negative_weight_decay():
  with pytest.raises(ValueError, match='weight_decay'):
    nets_factory.get_network_fn('alexnet_v2', NUM_CLASSES, weight_decay=-1.0)


def test_settings_the_nets_cannot_build_with_are_user_errors():
  # The scripts print a UserError on one line with exit status 2, wherever it was raised.
  with pytest.raises(UserError, match='unknown network'):
    nets_factory.get_network_fn('vgg_16', NUM_CLASSES)
  with pytest.raises(UserError, match='at least 195x195'):
    with tf.Graph().as_default():
      build(images(height=150, width=150))
  with pytest.raises(UserError, match='unknown preprocessing'):
    preprocessing_factory.get_jpeg_preprocessing('vgg_16')


@pytest.mark.parametrize('kernel, padding', [(5, 'VALID'), (1, 'SAME')])
@pytest.mark.parametrize('batch_norm', [False, True])
def test_dense_conv2d_computes_what_slim_conv2d_computes_with_the_same_variables(kernel, padding,
                                                                                 batch_norm):
  # With batch norm too: alexnet_v2_bn's fc6/fc7 train at the matmul's rate.
  normalizer = dict(normalizer_fn=compat.batch_norm) if batch_norm else {}
  with tf.Graph().as_default() as graph:
    inputs = tf.random.stateless_normal([3, kernel, kernel, 16], seed=[4, 2])
    dense = alexnet.dense_conv2d(inputs, 7, [kernel, kernel], padding=padding, scope='fc',
                                 **normalizer)
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
      conv = slim.conv2d(inputs, 7, [kernel, kernel], padding=padding, scope='fc', **normalizer)
    names = sorted(v.op.name for v in tf.compat.v1.global_variables())
    op_types = {op.type for op in graph.get_operations() if op.name.startswith('fc/')}
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      dense_out, conv_out = sess.run([dense, conv])
  if batch_norm:
    assert names == ['fc/BatchNorm/beta', 'fc/BatchNorm/moving_mean',
                     'fc/BatchNorm/moving_variance', 'fc/weights']
  else:
    assert names == ['fc/biases', 'fc/weights']
  assert 'MatMul' in op_types  # the dense path was taken
  assert dense_out.shape == conv_out.shape == (3, 1, 1, 7)
  np.testing.assert_allclose(dense_out, conv_out, rtol=1e-5, atol=1e-5)


def test_dense_conv2d_slides_like_a_conv_over_a_larger_input():
  with tf.Graph().as_default():
    out = alexnet.dense_conv2d(tf.zeros([1, 7, 9, 16]), 4, [5, 5], padding='VALID')
  assert out.shape.as_list() == [1, 3, 5, 4]


@pytest.mark.parametrize('height, width', [(195, 195), (226, 226), (227, 227), (300, 400)])
def test_score_map_size_matches_the_graph(height, width):
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('alexnet_v2', 3, spatial_squeeze=False)
    logits, _ = network_fn(tf.zeros([1, height, width, 3]))
  assert tuple(logits.shape.as_list()[1:3]) == alexnet.score_map_size(height, width)
  assert alexnet.CLASSIFY_SIZES == (195, 226)
