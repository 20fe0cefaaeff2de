"""torchvision's AlexNet (torchvision.models.alexnet) as a tf-slim net, so its ImageNet weights
(pretrained/torchvision_alexnet.py converts them) can be fine-tuned here.

It follows "One weird trick" (arXiv:1404.5997) like alexnet_v2 but differs from it in ways that
would let wrong weights load silently, hence its own scope 'alexnet_tv':
  conv1  64 11x11/4 after an explicit zero padding of 2 (then VALID: 55x55 at 224; SAME would
         pad differently and give other numbers with no error)
  pool1  3x3/2, conv2 192 5x5, pool2 3x3/2, conv3 384 3x3, conv4 256 3x3, conv5 256 3x3,
         pool5 3x3/2: 6x6x256 at 224 (torchvision's adaptive average pool to 6x6 is then the
         identity)
  fc6    4096, a 6x6 VALID convolution over pool5 (torchvision's dense layer on the C,H,W
         flattened pool5; the converter reorders its kernel), fc7 4096 and fc8 as 1x1 convs
  dropout *before* fc6 and before fc7 (alexnet_v2 has it after them).
No batch norm and no LRN (torchvision has neither).

On a larger image the fully connected layers slide over pool5 (one step per 32 input pixels) and
give a score map; global_pool=True averages fc7 over it into one prediction per image, as for
alexnet_v2. (torchvision would instead average-pool pool5 down to 6x6: the two agree at 224.)

Usage:
  with slim.arg_scope(alexnet_tv_arg_scope()):
    logits, end_points = alexnet_tv(images, num_classes=1000, is_training=False)
"""
import tensorflow as tf
import tf_slim as slim

from nets import alexnet

SCOPE = 'alexnet_tv'
GLOBAL_POOL_END_POINT = SCOPE + '/global_pool'
CONV1_PADDING = 2
FC6_SIDE = 6


def alexnet_tv_arg_scope(weight_decay=0.0005):
  """Defaults of the layers: ReLU, L2 weight decay, zero biases, SAME convs (3x3 with padding 1
  and 5x5 with padding 2 are SAME at stride 1), VALID pools; fully connected weights from
  N(0, 0.01) as torchvision initialises them."""
  with slim.arg_scope([slim.conv2d, alexnet.dense_conv2d],
                      activation_fn=tf.nn.relu,
                      biases_initializer=tf.compat.v1.zeros_initializer(),
                      weights_regularizer=(slim.l2_regularizer(float(weight_decay)) if weight_decay
                                           else None),
                      padding='SAME'):
    with slim.arg_scope([alexnet.dense_conv2d],
                        weights_initializer=tf.compat.v1.random_normal_initializer(0.0, 0.01)):
      with slim.arg_scope([slim.max_pool2d], padding='VALID') as arg_sc:
        return arg_sc


def alexnet_tv(inputs,
               num_classes=1000,
               is_training=True,
               dropout_keep_prob=0.5,
               spatial_squeeze=True,
               scope=SCOPE,
               global_pool=False):
  """torchvision's AlexNet on a [batch, height, width, 3] float32 batch normalised as torchvision
  does (preprocessing/torchvision_preprocessing.py).

  Args:
    inputs: images, 224x224 for classification (at least MIN_IMAGE_SIZE); larger ones give a
      score map.
    num_classes: number of classes; 0 or None returns the fc7 features instead of logits.
    is_training: dropout on (a bool or a bool tensor).
    dropout_keep_prob: probability of keeping a pool5/fc6 activation while training.
    spatial_squeeze: squeeze [batch, 1, 1, C] to [batch, C].
    scope: variable scope of the net.
    global_pool: average fc7 over the image before fc8: one prediction for any image size.

  Returns:
    (net, end_points): logits [batch, C] (or the [batch, h, w, C] score map without
    spatial_squeeze), or the fc7 features when num_classes is 0; end_points maps
    'alexnet_tv/conv1' ... 'alexnet_tv/fc8' to the output of each layer.
  """
  with tf.compat.v1.variable_scope(scope, SCOPE, [inputs]) as sc:
    end_points_collection = sc.original_name_scope + '_end_points'
    with slim.arg_scope([slim.conv2d, alexnet.dense_conv2d, slim.max_pool2d],
                        outputs_collections=[end_points_collection]):
      #                                                                     output at 224x224
      net = tf.pad(inputs, [[0, 0], [CONV1_PADDING] * 2, [CONV1_PADDING] * 2, [0, 0]],
                   name='conv1_pad')                                              # 228x228x3
      net = slim.conv2d(net, 64, [11, 11], 4, padding='VALID', scope='conv1')     # 55x55x64
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool1')                        # 27x27x64
      net = slim.conv2d(net, 192, [5, 5], scope='conv2')                          # 27x27x192
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool2')                        # 13x13x192
      net = slim.conv2d(net, 384, [3, 3], scope='conv3')                          # 13x13x384
      net = slim.conv2d(net, 256, [3, 3], scope='conv4')                          # 13x13x256
      net = slim.conv2d(net, 256, [3, 3], scope='conv5')                          # 13x13x256
      net = slim.max_pool2d(net, [3, 3], 2, scope='pool5')                        # 6x6x256
      alexnet.check_fc6_fits(net, inputs, FC6_SIDE, SCOPE, MIN_IMAGE_SIZE)

      # The fully connected layers, as convolutions; dropout before fc6 and fc7.
      net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope='dropout6')
      net = alexnet.dense_conv2d(net, 4096, [FC6_SIDE, FC6_SIDE], padding='VALID',
                                 scope='fc6')                                     # 1x1x4096
      net = slim.dropout(net, dropout_keep_prob, is_training=is_training, scope='dropout7')
      net = alexnet.dense_conv2d(net, 4096, [1, 1], scope='fc7')                 # 1x1x4096
      end_points = slim.utils.convert_collection_to_dict(end_points_collection)
      if global_pool:
        net = tf.reduce_mean(net, [1, 2], keepdims=True, name='global_pool')
        end_points[sc.name + '/global_pool'] = net
      if not num_classes:
        return alexnet.squeeze(net, spatial_squeeze, 'fc7/squeezed', SCOPE), end_points
      net = alexnet.dense_conv2d(net, num_classes, [1, 1], activation_fn=None,
                                 scope='fc8')                                     # 1x1xC
    net = alexnet.squeeze(net, spatial_squeeze, 'fc8/squeezed', SCOPE)
    end_points[sc.name + '/fc8'] = net
    return net, end_points


alexnet_tv.default_image_size = 224


def _map_side(side):
  """The side of the fc8 map for an input side: padding 2, conv1 (11, stride 4, VALID), three
  3x3/2 VALID pools (the SAME convs keep the size), fc6 (6x6 VALID)."""
  side = (side + 2 * CONV1_PADDING - 11) // 4 + 1
  for _ in range(3):
    side = (side - 3) // 2 + 1
  return side - FC6_SIDE + 1


def score_map_size(height, width):
  """(rows, columns) of the score map alexnet_tv gives for a height x width image."""
  return _map_side(height), _map_side(width)


# Smallest input whose pool5 is 6x6 (what fc6 needs), and the square sizes classified with one
# score (a 1x1 map), 224 among them: (223, 254).
MIN_IMAGE_SIZE = min(s for s in range(1, 1024) if _map_side(s) >= 1)
CLASSIFY_SIZES = (MIN_IMAGE_SIZE, max(s for s in range(MIN_IMAGE_SIZE, 1024) if _map_side(s) == 1))
