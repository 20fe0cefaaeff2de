"""Grad-CAM (Selvaraju et al. 2017): where the net looked for the class it predicted.

heatmaps() builds, in a graph, the gradients of each image's class score with respect to the
output of the net's last convolutional layer, weights each channel by its mean gradient, sums the
weighted channels, keeps the positive part (ReLU), scales each map to [0, 1] and upsamples it to
the image. pictures.overlays lays such a map over a photo.

Works for any net of the nets factory: the layer is found by name among the end points (the
last 4-D one named conv*), not fixed to alexnet_v2/conv5. The gradients are per image only when
the images do not interact, i.e. with the net in inference mode (no batch statistics).
The one implementation behind predict_alexnet.py --explain, training's predictions/gradcam image
(summaries.image_summaries.gradcam_summary) and the evaluator's eval/gradcam grid and fixed photos.
"""
import re

import tensorflow as tf

_CONV_LAYER = re.compile(r'(^|/)conv[^/]*$', re.IGNORECASE)


def last_conv_end_point(end_points):
  """The name of the last convolutional layer's output among a net's end points (a dict in the
  order the net built them): the last 4-D end point whose last name part starts with conv."""
  names = [name for name, tensor in end_points.items()
           if _CONV_LAYER.search(name) and tensor.shape.rank == 4]
  if not names:
    raise ValueError('no convolutional end point (named conv*) among %s' % list(end_points))
  return names[-1]


def heatmaps(logits, end_points, class_ids=None, size=None, layer=None):
  """Grad-CAM maps float32 [N, h, w] in [0, 1], one per image, in the default graph.

  Args:
    logits: [N, num_classes] class scores (before the softmax).
    end_points: the net's end points, among them the layer's output [N, h, w, channels].
    class_ids: int [N], the class to explain per image; None: the predicted class.
    size: [height, width] (ints or an int tensor) to upsample to (bilinear); None keeps h, w.
    layer: the end point to explain; None: last_conv_end_point(end_points).
  A map is all 0 when no position raises the class score.
  """
  activations = end_points[layer or last_conv_end_point(end_points)]
  if class_ids is None:
    class_ids = tf.argmax(logits, axis=1)
  scores = tf.gather(logits, tf.cast(class_ids, tf.int32), axis=1, batch_dims=1)
  gradients = tf.gradients(tf.reduce_sum(scores), activations)[0]
  channel_weights = tf.reduce_mean(gradients, axis=[1, 2], keepdims=True)
  cam = tf.nn.relu(tf.reduce_sum(channel_weights * activations, axis=3))
  cam = tf.math.divide_no_nan(cam, tf.reduce_max(cam, axis=[1, 2], keepdims=True))
  if size is not None:
    cam = tf.image.resize(cam[..., tf.newaxis], size, method='bilinear')[..., 0]
  return tf.clip_by_value(cam, 0.0, 1.0, name='gradcam')
