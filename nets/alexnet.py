"""AlexNet v2: the one-column net of "One weird trick for parallelizing convolutional neural
networks" (Krizhevsky 2014, arXiv:1404.5997), without LRN, as in tf_slim.nets.alexnet.

Variable names are those of tf_slim.nets.alexnet.alexnet_v2, so checkpoints interchange.

The fully connected layers are convolutions: fc6 is a 5x5 VALID conv over pool5 (on a 224x224
image pool5 is 5x5, so fc6 sees all of it, exactly like a dense layer on the flattened pool5),
fc7 and fc8 are 1x1 convs (computed as matmuls where that is the same thing: dense_conv2d). On
a larger image the same weights slide over pool5, one step per 32 input pixels, and give a score
map (4x7 for a 300x400 photo); `global_pool=True` averages it into one prediction per image.

The net is built in float32. Mixed precision is the trainer's business (grappler rewrites
`auto_mixed_precision` / `auto_mixed_precision_onednn_bfloat16` in the session config), so the
variables and checkpoints stay float32.

Usage:
  with slim.arg_scope(alexnet_v2_arg_scope()):
    logits, end_points = alexnet_v2(images, num_classes=5, is_training=False)
"""
import contextlib

import tensorflow as tf
import tf_slim as slim

import compat
from base import BadArgument

# Smallest input whose pool5 is 5x5 (what fc6 needs); 224x224 is the usual size.
MIN_IMAGE_SIZE = 195
GLOBAL_POOL_END_POINT = 'alexnet_v2/global_pool'


def trunc_normal(stddev):
  return tf.compat.v1.truncated_normal_initializer(0.0, stddev)


def alexnet_v2_arg_scope(weight_decay=0.0005, use_batch_norm=False, batch_norm_decay=0.997,
                         batch_norm_epsilon=0.001, batch_norm_scale=False):
  """Defaults of the layers: ReLU, L2 weight decay, biases 0.1, SAME convs, VALID pools.

  With use_batch_norm every conv is followed by batch norm (which replaces its bias); the
  moving averages are updated through tf.compat.v1.GraphKeys.UPDATE_OPS.
  """
  batch_norm_params = {
      'decay': batch_norm_decay,
      'epsilon': batch_norm_epsilon,
      'scale': batch_norm_scale,
      'updates_collections': tf.compat.v1.GraphKeys.UPDATE_OPS,
  }
  with slim.arg_scope([slim.conv2d, dense_conv2d, slim.fully_connected],
                      activation_fn=tf.nn.relu,
                      biases_initializer=tf.compat.v1.constant_initializer(0.1),
                      weights_regularizer=(slim.l2_regularizer(float(weight_decay)) if weight_decay
                                           else None),
                      normalizer_fn=compat.batch_norm if use_batch_norm else None):
    with slim.arg_scope([compat.batch_norm], **batch_norm_params):
      with slim.arg_scope([slim.conv2d, dense_conv2d], padding='SAME'):
        with slim.arg_scope([slim.max_pool2d], padding='VALID') as arg_sc:
          return arg_sc


def alexnet_v2(inputs,
               num_classes=1000,
               is_training=True,
               dropout_keep_prob=0.5,
               spatial_squeeze=True,
               scope='alexnet_v2',
               global_pool=False,
               use_batch_norm=False):
  """AlexNet v2 on a [batch, height, width, 3] float32 batch.

  Args:
    inputs: images, 224x224 for classification; larger ones give a score map.
    num_classes: number of classes; 0 or None returns the fc7 features instead of logits.
    is_training: dropout on and batch norm in training mode (a bool or a bool tensor).
    dropout_keep_prob: probability of keeping an fc6/fc7 activation while training.
    spatial_squeeze: squeeze [batch, 1, 1, C] to [batch, C].
    scope: variable scope of the net.
    global_pool: average fc7 over the image before fc8: one prediction for any image size.
    use_batch_norm: batch norm after conv1..fc7 (also on when the arg scope asks for it).

  Returns:
    (net, end_points): logits [batch, C] (or the [batch, h, w, C] score map without
    spatial_squeeze), or the fc7 features when num_classes is 0; end_points maps
    'alexnet_v2/conv1' ... 'alexnet_v2/fc8' to the output of each layer.
  """
  with tf.compat.v1.variable_scope(scope, 'alexnet_v2', [inputs]) as sc:
    end_points_collection = sc.original_name_scope + '_end_points'
    with _layer_defaults(end_points_collection, is_training, use_batch_norm):
      #                                                                     output at 224x224
      net = slim.conv2d(inputs, 64, [11, 11], 4, padding='VALID', scope='conv1')  # 54x54x64
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool1')                        # 26x26x64
      net = slim.conv2d(net, 192, [5, 5], scope='conv2')                          # 26x26x192
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool2')                        # 12x12x192
      net = slim.conv2d(net, 384, [3, 3], scope='conv3')                          # 12x12x384
      net = slim.conv2d(net, 384, [3, 3], scope='conv4')                          # 12x12x384
      net = slim.conv2d(net, 256, [3, 3], scope='conv5')                          # 12x12x256
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool5')                        # 5x5x256
      check_fc6_fits(net, inputs, 5, 'alexnet_v2', MIN_IMAGE_SIZE)

      # The fully connected layers, as convolutions.
      with slim.arg_scope([dense_conv2d], weights_initializer=trunc_normal(0.005)):
        net = dense_conv2d(net, 4096, [5, 5], padding='VALID', scope='fc6')        # 1x1x4096
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope='dropout6')
        net = dense_conv2d(net, 4096, [1, 1], scope='fc7')                         # 1x1x4096
        end_points = slim.utils.convert_collection_to_dict(end_points_collection)
        if global_pool:
          net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
          end_points[sc.name + '/global_pool'] = net
        net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope='dropout7')
        if not num_classes:
          return squeeze(net, spatial_squeeze, 'fc7/squeezed', 'alexnet_v2'), end_points
        net = dense_conv2d(net, num_classes, [1, 1],                               # 1x1xC
                          activation_fn=None,
                          normalizer_fn=None,
                          biases_initializer=tf.compat.v1.zeros_initializer(),
                          scope='fc8')
    net = squeeze(net, spatial_squeeze, 'fc8/squeezed', 'alexnet_v2')
    end_points[sc.name + '/fc8'] = net
    return net, end_points


alexnet_v2.default_image_size = 224


@slim.add_arg_scope
def dense_conv2d(inputs, num_outputs, kernel_size, padding='SAME', activation_fn=tf.nn.relu,
                 normalizer_fn=None, normalizer_params=None, weights_initializer=None,
                 weights_regularizer=None, biases_initializer=tf.compat.v1.zeros_initializer(),
                 outputs_collections=None, scope=None):
  """slim.conv2d for the fully connected layers: the same variables and the same result, but
  when the kernel covers the whole input (fc6 on a 5x5 pool5, fc7 and fc8 on 1x1) it is computed
  as one matmul: oneDNN's convolution kernels for those shapes run far below its matmul rate
  (the benchmark measured an fp32 training step 1.8x, a bf16 one 2.6x faster on CPU; with batch
  norm, 2.7x in bf16). Other inputs (a larger image's score map) go to slim.conv2d itself."""
  kernel_height, kernel_width = kernel_size
  height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
  covers_input = (height == kernel_height and width == kernel_width and
                  (padding == 'VALID' or kernel_height == kernel_width == 1))
  if not covers_input or channels is None:
    return slim.conv2d(inputs, num_outputs, kernel_size, padding=padding,
                       activation_fn=activation_fn, normalizer_fn=normalizer_fn,
                       normalizer_params=normalizer_params,
                       weights_initializer=weights_initializer or
                       tf.compat.v1.initializers.glorot_uniform(),
                       weights_regularizer=weights_regularizer,
                       biases_initializer=biases_initializer,
                       outputs_collections=outputs_collections, scope=scope)
  with tf.compat.v1.variable_scope(scope, 'Conv', [inputs]) as sc:
    fan_in = kernel_height * kernel_width * int(channels)
    weights = slim.model_variable('weights', [kernel_height, kernel_width, channels, num_outputs],
                                  initializer=weights_initializer or
                                  tf.compat.v1.initializers.glorot_uniform(),
                                  regularizer=weights_regularizer)
    outputs = tf.reshape(tf.linalg.matmul(tf.reshape(inputs, [-1, fan_in]),
                                          tf.reshape(weights, [fan_in, num_outputs])),
                         [-1, 1, 1, num_outputs])
    if normalizer_fn is not None:  # as slim.conv2d: the normalizer in place of the biases
      outputs = normalizer_fn(outputs, **(normalizer_params or {}))
    elif biases_initializer is not None:
      biases = slim.model_variable('biases', [num_outputs], initializer=biases_initializer)
      outputs = tf.nn.bias_add(outputs, biases)
    if activation_fn is not None:
      outputs = activation_fn(outputs)
    return slim.utils.collect_named_outputs(outputs_collections, sc.name, outputs)


def _map_side(side):
  """The side of the fc8 map for an input side: conv1 (11, stride 4, VALID), three 3x3/2 VALID
  pools (the SAME convs keep the size), fc6 (5x5 VALID)."""
  side = (side - 11) // 4 + 1
  for _ in range(3):
    side = (side - 3) // 2 + 1
  return side - 4


def score_map_size(height, width):
  """(rows, columns) of the score map alexnet_v2 gives for a height x width image."""
  return _map_side(height), _map_side(width)


# Square input sizes classified with one score (a 1x1 map), 224 among them: (195, 226).
CLASSIFY_SIZES = (MIN_IMAGE_SIZE, max(s for s in range(MIN_IMAGE_SIZE, 1024) if _map_side(s) == 1))


@contextlib.contextmanager
def _layer_defaults(end_points_collection, is_training, use_batch_norm):
  """Collects conv and pool outputs as end points; batch norm follows is_training."""
  with slim.arg_scope([slim.conv2d, dense_conv2d, slim.max_pool2d],
                      outputs_collections=[end_points_collection]):
    with slim.arg_scope([compat.batch_norm], is_training=is_training):
      if use_batch_norm:
        with slim.arg_scope([slim.conv2d, dense_conv2d], normalizer_fn=compat.batch_norm):
          yield
      else:
        yield


def check_fc6_fits(pool5, inputs, fc6_side, net_name, min_image_size):
  """BadArgument when pool5 is smaller than fc6's fc6_side x fc6_side kernel."""
  height, width = pool5.shape[1], pool5.shape[2]
  if (height is not None and height < fc6_side) or (width is not None and width < fc6_side):
    raise BadArgument('images of %sx%s are too small for %s (fc6 needs a %dx%d pool5); '
                     'resize them to at least %dx%d, 224x224 is the default'
                     % (inputs.shape[1], inputs.shape[2], net_name, fc6_side, fc6_side,
                        min_image_size, min_image_size))


def squeeze(net, spatial_squeeze, name, net_name):
  """[batch, 1, 1, C] -> [batch, C] (unless not spatial_squeeze); BadArgument for a larger map."""
  if not spatial_squeeze:
    return net
  height, width = net.shape[1], net.shape[2]
  if (height is not None and height != 1) or (width is not None and width != 1):
    raise BadArgument('%s gives a %sx%s map for these images, which cannot be squeezed; '
                     'resize them to 224x224, or pass spatial_squeeze=False (score map) or '
                     'global_pool=True (one prediction per image)' % (net_name, height, width))
  return tf.squeeze(net, [1, 2], name=name)
