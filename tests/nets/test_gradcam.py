"""Grad-CAM: the heat follows what the class score depends on, on the real alexnet_v2."""
import io

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from PIL import Image

from nets import gradcam
from nets import nets_factory
from pictures import charts
from pictures import overlays
from summaries import image_summaries

SIZE = 224
PATCH = 48


def _patterned_weights(variables):
  """Weights under which only channel 0 of every conv layer responds, and only where the image
  is bright: conv1 channel 0 averages its window (+1 bias, so a -1 background gives 0), conv2-5
  pass channel 0 on through their centre tap, fc6 sums pool5's channel 0, fc7 and fc8 pass it to
  class 0. Every other weight and bias is 0, so class 0's score depends on the pattern alone."""
  values = {}
  for var in variables:
    name, shape = var.op.name, var.shape.as_list()
    value = np.zeros(shape, np.float32)
    layer = name.split('/')[-2]
    if name.endswith('biases'):
      value[0] = 1.0 if layer == 'conv1' else 0.0
    elif layer == 'conv1':
      value[:, :, :, 0] = 1.0 / (shape[0] * shape[1] * shape[2])
    elif layer == 'fc6':
      value[:, :, 0, 0] = 1.0
    else:
      value[shape[0] // 2, shape[1] // 2, 0, 0] = 1.0
    values[var] = value
  return values


@pytest.fixture(scope='module')
def patterned_net():
  """run(images) -> (heat maps, logits) of the patterned alexnet_v2, Grad-CAM of class_ids."""
  graph = tf.Graph()
  with graph.as_default():
    images = tf.compat.v1.placeholder(tf.float32, [None, SIZE, SIZE, 3])
    class_ids = tf.compat.v1.placeholder_with_default(tf.constant([0], tf.int64), [None])
    network_fn = nets_factory.get_network_fn('alexnet_v2', 5, is_training=False)
    logits, end_points = network_fn(images, global_pool=True)
    heat = gradcam.heatmaps(logits, end_points, class_ids, size=[SIZE, SIZE])
    sess = tf.compat.v1.Session(graph=graph)
    for var, value in _patterned_weights(slim.get_model_variables()).items():
      var.load(value, sess)

  def run(batch, explained=None):
    feed = {images: batch}
    if explained is not None:
      feed[class_ids] = explained
    return sess.run([heat, logits], feed)

  yield run
  sess.close()


def image_with_patch(top, left):
  image = np.full([SIZE, SIZE, 3], -1.0, np.float32)
  image[top:top + PATCH, left:left + PATCH] = 1.0
  return image


def centre_of_heat(heat):
  rows, cols = np.indices(heat.shape)
  return (rows * heat).sum() / heat.sum(), (cols * heat).sum() / heat.sum()


def test_heat_follows_the_pattern_the_class_score_depends_on(patterned_net):
  corners = [(24, 24), (24, 150), (150, 40), (140, 140)]
  batch = np.stack([image_with_patch(top, left) for top, left in corners])
  heat, logits = patterned_net(batch, explained=[0] * len(corners))
  assert np.all(np.argmax(logits, 1) == 0)
  for (top, left), one in zip(corners, heat):
    assert one.max() == pytest.approx(1.0)
    row, col = centre_of_heat(one)
    assert abs(row - (top + PATCH / 2)) < 16 and abs(col - (left + PATCH / 2)) < 16
    inside = one[top:top + PATCH, left:left + PATCH].mean()
    outside = np.delete(one, np.s_[max(0, top - 32):top + PATCH + 32], axis=0).mean()
    assert inside > 0.3 and outside < 0.02


def test_a_class_the_image_does_not_raise_gets_no_heat(patterned_net):
  heat, _ = patterned_net(image_with_patch(60, 60)[None], explained=[3])
  assert heat.shape == (1, SIZE, SIZE)
  assert np.all(heat == 0.0)


def test_the_last_conv_end_point_is_found_by_name_for_any_net():
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn('alexnet_v2_bn', 5, is_training=False)
    _, end_points = network_fn(tf.zeros([1, SIZE, SIZE, 3]), global_pool=True)
    assert gradcam.last_conv_end_point(end_points) == 'alexnet_v2/conv5'
    other = {'net/Conv2d_1a': tf.zeros([1, 8, 8, 2]), 'net/Conv2d_4b': tf.zeros([1, 4, 4, 2]),
             'net/Logits': tf.zeros([1, 1, 1, 2]), 'net/conv_flat': tf.zeros([1, 2])}
    assert gradcam.last_conv_end_point(other) == 'net/Conv2d_4b'
    with pytest.raises(ValueError, match='no convolutional end point'):
      gradcam.last_conv_end_point({'net/fc': tf.zeros([1, 2])})


def test_overlay_colours_the_hot_region_and_writes_the_label_under_it():
  photo = np.full([64, 80, 3], 128, np.uint8)
  heat = np.zeros([8, 10])
  heat[:4, :5] = 1.0
  picture = overlays.overlay(photo, heat, 'sunflowers', 0.873)
  assert picture.dtype == np.uint8 and picture.shape[1] == 80 and picture.shape[0] > 64
  assert np.abs(picture[5, 5].astype(int) - 128).sum() > 60    # hot: coloured
  assert np.all(picture[60, 75] == 128)                         # cold: the photo as it is
  caption = picture[64:]
  assert (caption != caption[0, 0]).any()                        # the text is drawn



def _training_net_and_gradcam_summary(model_name, batch_size=2):
  images = tf.compat.v1.placeholder(tf.float32, [batch_size, SIZE, SIZE, 3])
  nets_factory.get_network_fn(model_name, 5, is_training=True)(images)
  variables = tf.compat.v1.global_variables()
  op = image_summaries.gradcam_summary(
      nets_factory.get_network_fn(model_name, 5, is_training=False), images[:1],
      ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'])
  assert tf.compat.v1.global_variables() == variables  # the net's own, reused
  return images, op


def test_training_summary_of_a_batch_norm_net_reuses_its_variables():
  with tf.Graph().as_default():
    _training_net_and_gradcam_summary('alexnet_v2_bn')


def test_training_summary_explains_the_first_image_of_the_batch():
  """The per-batch Grad-CAM image of training: heat where the first image's pattern is (not the
  second's), the predicted class and its probability under it."""
  with tf.Graph().as_default():
    images, op = _training_net_and_gradcam_summary('alexnet_v2')
    with tf.compat.v1.Session() as sess:
      for var, value in _patterned_weights(slim.get_model_variables()).items():
        var.load(value, sess)
      batch = np.stack([image_with_patch(24, 150), image_with_patch(150, 24)])
      summary = tf.compat.v1.Summary.FromString(sess.run(op, {images: batch}))
  (value,) = summary.value
  assert value.tag == 'predictions/gradcam/image'
  picture = np.asarray(Image.open(io.BytesIO(value.image.encoded_image_string)).convert('RGB'))
  assert picture.shape == (overlays.overlay_height(SIZE, SIZE), SIZE, 3)
  changed = np.abs(picture[:SIZE].astype(int) - charts.to_uint8(batch[0])).sum(axis=2) > 30
  assert changed[24:24 + PATCH, 150:150 + PATCH].mean() > 0.5   # the first image's patch
  assert changed[150:150 + PATCH, 24:24 + PATCH].mean() == 0.0  # not the second's
  caption = picture[SIZE:]
  assert (caption != caption[0, 0]).any()
