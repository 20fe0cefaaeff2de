"""What training writes to TensorBoard besides its own progress: losses, accuracies and the
learning rate, the layers' sparsity and histograms, the prediction and Grad-CAM images of the
batch's first photo, and conv1's feature maps and filters."""
import re

import tensorflow as tf
import tf_slim as slim

import base
from nets import nets_factory
from preprocessing import preprocessing_factory
from summaries import graph_summaries
from summaries import image_summaries


def _add_scalar_summaries(values):
  for name, tensor in values.items():
    graph_summaries.scalar(name, tensor)


def _layer_name(end_point):
  """'alexnet_v2/pool1' for an end point of any clone: pooling layers carry the clone's name
  scope ('clone_0/alexnet_v2/pool1'), convolutions the variable scope alone."""
  return re.sub(r'^clone_\d+/', '', end_point)


def _add_activation_summaries(end_points, histograms):
  """Sparsity (the fraction of zeros after the ReLU) of every layer but the logits, and with
  histograms=True the histograms of activations and weights, under one tag name per layer."""
  logits = list(end_points)[-1]  # the nets' last end point; no ReLU after it, so no zeros
  for name, activation in end_points.items():
    layer = _layer_name(name)
    if name != logits:
      graph_summaries.scalar('sparsity/' + layer, tf.nn.zero_fraction(activation))
    if histograms:
      graph_summaries.histogram('activations/' + layer, activation)
  if histograms:
    # A prefix: the variable's own op name is taken, and TF would tag it '.../weights_1'.
    for var in slim.get_model_variables():
      graph_summaries.histogram('weights/' + var.op.name, var)


def add(config, dataset, built):
  """Scalars, sparsity and histograms of the layers, the prediction, Grad-CAM and feature-map
  images of trainer.build_train_op's `built`: their ops under one `summaries` name scope (so
  TensorBoard's Graphs page keeps the net as the main graph), their tags as named here."""
  with tf.name_scope(graph_summaries.SCOPE):
    _add(config, dataset, built)


def _add(config, dataset, built):
  model = built.model
  _add_scalar_summaries({
      'losses/cross_entropy': model.cross_entropy,
      'losses/regularization': built.regularization,
      'losses/total': built.total_loss,
      'accuracy/train_batch': built.accuracy,
      'accuracy/train_moving': built.moving_accuracy,
      'learning_rate': built.learning_rate,
  })
  _add_activation_summaries(model.end_points, config.summarize_histograms)
  class_names = base.class_names(dataset.labels_to_names, dataset.num_classes)
  pixels = preprocessing_factory.get_pixels_fn(config.model_name)(model.images)
  image_summaries.prediction_summary(pixels, model.labels, model.logits, class_names)
  image_summaries.gradcam_summary(
      nets_factory.get_network_fn(config.model_name, dataset.num_classes, is_training=False),
      model.images[:1], class_names, pixels=pixels[:1])
  image_summaries.feature_map_summaries(model.end_points, _conv1_weights())


def _conv1_weights():
  return [v for v in slim.get_model_variables() if v.op.name.endswith('conv1/weights')][0]
