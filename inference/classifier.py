"""A checkpoint's net as a classifier of encoded photos, in a graph: what predict_alexnet.py runs
and what export_alexnet.py saves, so both compute the same thing.

The graph takes a batch of encoded images (JPEG, PNG, GIF, BMP, WebP bytes), refuses any over the
converter's pixel limit from its header before decoding it (preprocessing/pixel_limit.py: a
decompression bomb fails the run with InvalidArgumentError in microseconds), and preprocesses each
as evaluation does (the central crop, decoded with decode-and-crop, or the whole photo with
full_image), or takes preprocessed images fed directly; the net runs in inference mode with its
score map averaged (global_pool), as eval_alexnet.py runs it.
"""
import dataclasses
from typing import Optional

import tensorflow as tf
import tf_slim as slim

from base import UserError
from datasets import images
from nets import gradcam
from nets import nets_factory
from preprocessing import pixel_limit
from preprocessing import preprocessing_factory
from rundir import checkpoints
from rundir import session


@dataclasses.dataclass
class ClassifierGraph:
  encoded: tf.Tensor          # string [N]: the photos' bytes (fed)
  images: tf.Tensor           # float32 [N, H, W, 3]: preprocessed (or fed instead)
  logits: tf.Tensor
  probabilities: tf.Tensor    # [N, num_classes]
  class_id: tf.Tensor         # int64 [N]: the top class
  class_name: tf.Tensor       # string [N]
  heat: Optional[tf.Tensor]   # float32 [N, H, W] Grad-CAM of the top class (with explain)
  pixels: Optional[tf.Tensor]  # uint8 [N, H, W, 3]: the images as pixels (with explain)
  variables: dict             # checkpoint name -> variable


def preprocess_fn(info, full_image=False):
  """fn(encoded bytes, a scalar string tensor) -> float32 [h, w, 3], as evaluation does."""
  if full_image:
    module = preprocessing_factory.PREPROCESSING_MAP[info.preprocessing]
    return lambda encoded: module.preprocess_full_image(encoded, info.image_size)
  preprocess = preprocessing_factory.get_jpeg_preprocessing(info.preprocessing)
  return lambda encoded: preprocess(encoded, info.image_size, info.image_size,
                                    decode_and_crop=True)


def variables_to_restore(moving_average_decay):
  """{checkpoint name: variable} of the model variables: their moving averages when the decay is
  given (training kept them as <name>/ExponentialMovingAverage)."""
  variables = slim.get_model_variables()
  if moving_average_decay:
    averages = tf.train.ExponentialMovingAverage(moving_average_decay)
    return {averages.average_name(v): v for v in variables}
  return {v.op.name: v for v in variables}


def build(info, full_image=False, explain=False, max_pixels=images.DEFAULT_MAX_PIXELS):
  """The classifier of a run_info.RunInfo in the default graph. With full_image the batch holds
  one photo (whole photos differ in size). A photo of more than max_pixels pixels (or of no
  format pixel_limit reads) fails the run before it is decoded."""
  encoded = tf.compat.v1.placeholder(tf.string, [None], name='image_bytes')
  preprocess = preprocess_fn(info, full_image)

  def checked_preprocess(photo, index):
    return preprocess(pixel_limit.checked(photo, index, max_pixels))

  with tf.device('/cpu:0'):
    if full_image:
      decoded = tf.expand_dims(checked_preprocess(encoded[0], 0), 0)
      shape = [None, None, None, 3]
    else:
      size = info.image_size
      decoded = tf.map_fn(lambda photo_index: checked_preprocess(*photo_index),
                          (encoded, tf.range(tf.size(encoded))),
                          fn_output_signature=tf.TensorSpec([size, size, 3], tf.float32))
      shape = [None, size, size, 3]
  images = tf.compat.v1.placeholder_with_default(decoded, shape, name='images')
  network_fn = nets_factory.get_network_fn(info.model_name, info.num_classes, is_training=False)
  logits, end_points = network_fn(images, global_pool=True)
  class_id = tf.argmax(logits, axis=1, name='class_id')
  heat = pixels = None
  if explain:
    heat = gradcam.heatmaps(logits, end_points, class_id, size=tf.shape(images)[1:3])
    pixels = preprocessing_factory.get_pixels_fn(info.preprocessing)(images)
  return ClassifierGraph(
      encoded=encoded, images=images, logits=logits,
      probabilities=tf.nn.softmax(logits, name='probabilities'), class_id=class_id,
      class_name=tf.gather(tf.constant(info.class_names), class_id, name='class_name'),
      heat=heat, pixels=pixels, variables=variables_to_restore(info.moving_average_decay))


def saver(graph, checkpoint, model_name):
  """A Saver that restores the checkpoint into graph's variables; UserError when the checkpoint
  does not fit the model (another net, class count, or no moving averages)."""
  try:
    checkpoints.check_evaluable(checkpoint, graph.variables, model_name)
  except checkpoints.CheckpointGone as e:
    raise UserError('cannot read checkpoint %s: %s' % (checkpoint, e))
  except checkpoints.CheckpointDamaged as e:
    raise UserError(str(e))
  return tf.compat.v1.train.Saver(graph.variables)


class Classifier:
  """A session holding the restored classifier of one checkpoint."""

  def __init__(self, checkpoint, info, full_image=False, explain=False):
    self.info = info
    self.full_image = full_image
    self._graph = tf.Graph()
    with self._graph.as_default():
      self.tensors = build(info, full_image, explain)
      restorer = saver(self.tensors, checkpoint, info.model_name)
      self._graph.finalize()
    self._sess = tf.compat.v1.Session(graph=self._graph, config=session.session_config())
    restorer.restore(self._sess, checkpoint)

  def run(self, encoded):
    """{'probabilities': [N, C]} for a list of encoded photos, with 'images' (uint8 pixels of
    what the net saw) and 'heat' when explaining. Raises tf.errors.InvalidArgumentError when
    TensorFlow cannot decode one."""
    fetches = {'probabilities': self.tensors.probabilities}
    if self.tensors.heat is not None:
      fetches.update(images=self.tensors.pixels, heat=self.tensors.heat)
    return self._sess.run(fetches, {self.tensors.encoded: list(encoded)})

  def close(self):
    self._sess.close()
