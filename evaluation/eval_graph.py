"""The evaluation graph: one pass of a split through the net with streaming metrics, the
per-batch arrays its pass hook collects, the split's first photos once more for Grad-CAM and
feature maps, and the variables to restore (their moving averages when asked)."""
import dataclasses

import tensorflow as tf
import tf_slim as slim

from datasets import input_pipeline
from datasets import reader
from datasets import records
from evaluation import metrics
from evaluation import results
from nets import gradcam
from nets import nets_factory
from preprocessing import preprocessing_factory
from rundir import session
from summaries import image_summaries

THUMB_SIZE = 96          # thumbnails collected for the prediction grid and the sprite


def input_pipeline_name(config):
  if config.input_pipeline:
    return config.input_pipeline
  return 'tf_data' if config.full_image else 'queue'


@dataclasses.dataclass
class EvalGraph:
  update_op: tf.Operation     # run once per batch
  values: dict                # final metric values (run once after the pass)
  collect: dict               # per-batch arrays for the grids and the projector
  variables_to_restore: dict  # checkpoint name -> variable
  global_step: tf.Variable
  k: int                      # of the top-k accuracy (results.top_k)


def build_eval_graph(config, dataset, build_batches=input_pipeline.build_batches):
  """Input (one pass), net, streaming metrics and per-batch fetches in the default graph; the
  input from build_batches (input_pipeline.build_batches' arguments)."""
  full_image = config.full_image
  batch_size = 1 if full_image else config.batch_size
  network_fn = nets_factory.get_network_fn(config.model_name, dataset.num_classes,
                                           is_training=False)
  image_size = nets_factory.image_size(config.model_name, config.eval_image_size)
  preprocessing = config.preprocessing or config.model_name  # (a preprocessing_factory name)
  jpeg_preprocessing = preprocessing_factory.get_jpeg_preprocessing(preprocessing,
                                                                    is_training=False)
  central_crop = lambda encoded: jpeg_preprocessing(encoded, image_size, image_size,
                                                    decode_and_crop=True)
  if full_image:
    full_image_preprocessing = preprocessing_factory.get_full_image_preprocessing(preprocessing)
    preprocess = lambda encoded: full_image_preprocessing(encoded, image_size)
  else:
    preprocess = central_crop
  batch = build_batches(
      dataset, preprocess, batch_size, is_training=False,
      pipeline=input_pipeline_name(config),
      num_preprocessing_threads=config.num_preprocessing_threads)()
  global_step = tf.compat.v1.train.get_or_create_global_step()

  with tf.device(session.eval_model_device(config.eval_device)):
    # global_pool averages fc7 over the windows before the linear fc8, which equals averaging
    # the score map; at the net's own size there is one window and nothing changes.
    logits, end_points = network_fn(batch['images'], global_pool=True)
    features = tf.squeeze(end_points[nets_factory.features_end_point(config.model_name)], [1, 2],
                          name='features')
    labels = tf.cast(batch['labels'], tf.int64)
    predictions = tf.argmax(logits, 1)
    k = results.top_k(dataset.num_classes)  # top-5 with 10 classes or more, else recall@2
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    in_top_k = tf.cast(tf.math.in_top_k(labels, logits, k), tf.float32)
    names_to_values, names_to_updates = slim.metrics.aggregate_metric_map({
        'accuracy': tf.compat.v1.metrics.accuracy(labels, predictions),
        'loss': tf.compat.v1.metrics.mean(losses),
        'recall_at_k': tf.compat.v1.metrics.mean(in_top_k),
        'confusion_matrix': metrics.streaming_confusion_matrix(labels, predictions,
                                                               dataset.num_classes),
    })
    if config.grid_images:  # Grad-CAM of the predicted class, laid over the grid's thumbnails
      heat = gradcam.heatmaps(logits, end_points, size=tf.shape(batch['images'])[1:3])
      heat = tf.image.resize_with_pad(heat[..., tf.newaxis], THUMB_SIZE, THUMB_SIZE)[..., 0]
    to_pixels = preprocessing_factory.get_pixels_fn(preprocessing)
    fixed = config.fixed_photos and _fixed_photo_fetches(
        network_fn, dataset, config.fixed_photos, central_crop, to_pixels)
    if fixed:
      names_to_values['fixed_photos'] = fixed
  names_to_values['global_step'] = global_step.read_value()
  thumbnails = to_pixels(tf.image.resize_with_pad(batch['images'], THUMB_SIZE, THUMB_SIZE))
  collect = {'labels': labels, 'predictions': predictions,
             'probabilities': tf.nn.softmax(logits), 'filenames': batch['filenames'],
             'thumbnails': thumbnails, 'features': features}
  if config.grid_images:
    collect['heat'] = heat
  return EvalGraph(update_op=tf.group(*names_to_updates.values()), values=names_to_values,
                   collect=collect,
                   variables_to_restore=eval_variables_to_restore(
                       config.moving_average_decay, global_step),
                   global_step=global_step, k=k)


def _fixed_photo_fetches(network_fn, dataset, count, preprocess, to_pixels):
  """The split's first `count` photos in file order (the same at every checkpoint) through the
  net once more (its variables reused): {'images' (uint8 pixels), 'labels', 'probabilities',
  'heat' (Grad-CAM of the predicted class), 'conv1', 'conv5'}, fetched once after the pass; None
  when the split has no records (or its first shard is damaged: the pass then says which)."""
  try:
    photos = reader.first_records(dataset.data_sources, count)
  except records.CorruptFile:
    photos = []
  if not photos:
    return None
  images = tf.stack([preprocess(tf.constant(photo.encoded)) for photo in photos])
  with tf.name_scope('fixed_photos'):
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
      logits, end_points = network_fn(images, global_pool=True)
    return {'images': to_pixels(images),
            'labels': tf.constant([photo.label for photo in photos], tf.int64),
            'probabilities': tf.nn.softmax(logits),
            'heat': gradcam.heatmaps(logits, end_points, size=tf.shape(images)[1:3]),
            'conv1': image_summaries.find_end_point(end_points, 'conv1'),
            'conv5': image_summaries.find_end_point(end_points, 'conv5')}


def eval_variables_to_restore(moving_average_decay, global_step):
  """{checkpoint name: variable} for evaluation: the model variables (their moving averages when
  decay is given, as the trainer keeps them for slim.get_model_variables()) and the global
  step."""
  if moving_average_decay:
    averages = tf.train.ExponentialMovingAverage(moving_average_decay, global_step)
    names = averages.variables_to_restore(slim.get_model_variables())
  else:
    names = {v.op.name: v for v in slim.get_model_variables()}
  names[global_step.op.name] = global_step
  return names
