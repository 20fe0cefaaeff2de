"""Graph-mode image summaries: pictures.charts pictures drawn in the graph by tf.numpy_function.

Each function adds image summary ops (summaries.graph_summaries.image) to `collections` (default:
the SUMMARIES collection, so tf.compat.v1.summary.merge_all and slim.learning.train pick them up)
and returns them. The summary tag is the given name plus '/image', whatever the name scope.
"""
import tensorflow as tf

from nets import gradcam
from pictures import charts
from pictures import lettering
from pictures import overlays
from pictures import prediction_card
from summaries import graph_summaries


def _class_names(class_names):
  """A copy the drawing closures keep: a {id: name} dict or a list of names."""
  return dict(class_names) if isinstance(class_names, dict) else list(class_names)


def _drawn_image(fn, inputs, height=None, width=None, name=None):
  """tf.numpy_function(fn, inputs) -> uint8 [1, height, width, 3] with its static shape set."""
  picture = tf.numpy_function(lambda *args: fn(*args)[None], inputs, tf.uint8, stateful=False,
                              name=name)
  picture.set_shape([1, height, width, 3])
  return picture


def prediction_summary(images_batch, labels, logits, class_names,
                       name='predictions/first_of_batch', size=224, collections=None):
  """An image summary of the batch's first image with its true label and prediction drawn.

  Args:
    images_batch: uint8 pixels [batch, H, W, 3] (preprocessing_factory.get_pixels_fn), or
      float in [-1, 1] as inception preprocessing feeds the net.
    labels: int [batch] class ids, or one-hot [batch, num_classes].
    logits: [batch, num_classes] (or [batch, 1, 1, num_classes]); num_classes must be static.
    class_names: list (or {id: name}) of num_classes names.
    name: summary name; the tag is name + '/image'.
    size: side of the photo in the picture (see prediction_card.prediction_image_size).
  Returns:
    The summary op (a serialized Summary string tensor).
  """
  num_classes = logits.shape[-1]
  if num_classes is None:
    raise ValueError('logits need a static number of classes, got shape %s' % logits.shape)
  names = _class_names(class_names)
  height, width = prediction_card.prediction_image_size(num_classes, size)
  with tf.name_scope('prediction_image'):
    logits = tf.reshape(logits, [-1, num_classes])
    probabilities = tf.nn.softmax(tf.cast(logits[0], tf.float32))
    if labels.shape.rank == 2:
      labels = tf.argmax(labels, axis=1)
    label = tf.reshape(labels, [-1])[0]
    picture = _drawn_image(
        lambda image, true_label, probs: prediction_card.prediction_image(
            image, true_label, probs, names, size),
        [images_batch[0], label, probabilities], height, width, name='draw')
  return graph_summaries.image(name, picture, max_outputs=1, collections=collections)


def gradcam_summary(network_fn, image, class_names, pixels=None, name='predictions/gradcam',
                    collections=None):
  """An image summary of Grad-CAM on one image: where the net, in inference mode, looks for the
  class it predicts, with that class's name and probability under the picture.

  The net is applied once more, to this image alone, with the variables of the net already built
  (reuse) and in inference mode (no dropout, batch norm's moving statistics), so the gradient is
  this image's own and costs one image's forward and backward pass, and only when the summary
  is evaluated.

  Args:
    network_fn: the nets factory's network_fn with is_training=False.
    image: float [1, H, W, 3] with static H, W, as fed to the net.
    class_names: list (or {id: name}) of the class names.
    pixels: uint8 [1, H, W, 3], the image as a photo (preprocessing_factory.get_pixels_fn);
      default: `image` read as inception's [-1, 1].
    name: summary name; the tag is name + '/image'.
  Returns:
    The summary op.
  """
  names = _class_names(class_names)
  height, width = image.shape[1:3]
  if height is None or width is None:
    raise ValueError('gradcam_summary needs an image of static size, got %s' % image.shape)
  with tf.name_scope('gradcam_image'):
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
      logits, end_points = network_fn(image)
    logits = tf.reshape(logits, [1, -1])
    heat = gradcam.heatmaps(logits, end_points, size=[height, width])
    probabilities = tf.nn.softmax(tf.cast(logits[0], tf.float32))

    def draw(photo, heat_map, probs):
      top = int(probs.argmax())
      label = lettering.class_name_list(names, len(probs))[top]  # a name the font can draw
      return overlays.overlay(photo, heat_map, label, probs[top])

    photo = image[0] if pixels is None else pixels[0]
    picture = _drawn_image(draw, [photo, heat[0], probabilities],
                           overlays.overlay_height(height, width), width, name='draw')
  return graph_summaries.image(name, picture, max_outputs=1, collections=collections)


def find_end_point(end_points, name):
  """end_points[name], or the one entry whose key ends with '/' + name."""
  if name in end_points:
    return end_points[name]
  matches = [key for key in end_points if key.endswith('/' + name)]
  if len(matches) != 1:
    raise ValueError('%s end point %r among %s' % ('no' if not matches else 'more than one',
                                                  name, sorted(end_points)))
  return end_points[matches[0]]


def feature_map_summaries(end_points, weights_conv1=None, names=('conv1', 'conv5'),
                          max_channels=None, family='feature_maps', filters_name='filters/conv1',
                          collections=None):
  """Image summaries of the first image's activations (one tile per channel) and conv1 filters.

  Args:
    end_points: {key: activation [batch, H, W, C]}, e.g. the net's end points
      ('alexnet_v2/conv1', ...), or any {summary_name: tensor}.
    weights_conv1: conv1 kernel [kh, kw, 3, C] (tensor or variable), or None for no filter grid.
    names: which end points to draw; each matches a key equal to it or ending in '/' + name, and
      names the summary family + '/' + name. None draws every entry under its own key.
    max_channels: draw at most this many channels of each layer.
    family: prefix of the activation summary names.
    filters_name: summary name of the filter grid.
  Returns:
    The list of summary ops: one per activation, then the filter grid if weights_conv1 is given.
  """
  if names is None:
    selected = list(end_points.items())
  else:
    selected = [(name, find_end_point(end_points, name)) for name in names]
  summaries = []
  for name, activations in selected:
    activations = tf.convert_to_tensor(activations)
    if activations.shape.rank != 4:
      raise ValueError('end point %r is not [batch, H, W, C]: shape %s' % (name, activations.shape))
    h, w, c = activations.shape[1:]
    height = width = None
    if None not in (h, w, c):
      height, width = charts.feature_map_grid_size(h, w, c, max_channels)
    with tf.name_scope('feature_map_image'):
      picture = _drawn_image(lambda a: charts.feature_map_grid(a, max_channels),
                             [activations[0]], height, width, name='draw')
    summaries.append(graph_summaries.image('%s/%s' % (family, name) if family else name,
                                                picture, max_outputs=1, collections=collections))
  if weights_conv1 is not None:
    weights = tf.convert_to_tensor(weights_conv1)
    if weights.shape.rank != 4:
      raise ValueError('conv1 weights are not [kh, kw, in, out]: shape %s' % weights.shape)
    kh, kw, _, out = weights.shape
    height = width = None
    if None not in (kh, kw, out):
      height, width = charts.filter_grid_size(kh, kw, out)
    with tf.name_scope('filter_image'):
      picture = _drawn_image(charts.filter_grid, [weights], height, width, name='draw')
    summaries.append(graph_summaries.image(filters_name, picture, max_outputs=1,
                                                collections=collections))
  return summaries
