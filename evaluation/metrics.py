"""The evaluation's metrics beyond tf.compat.v1.metrics: a streaming confusion matrix (in the
graph) and the per-class precision and recall read from it (numpy)."""
import numpy as np
import tensorflow as tf


def streaming_confusion_matrix(labels, predictions, num_classes, name='confusion_matrix'):
  """A local [C, C] int64 count (rows true, columns predicted) and the op adding a batch to it."""
  with tf.compat.v1.variable_scope(name):
    total = tf.compat.v1.get_variable(
        'total', [num_classes, num_classes], tf.int64, trainable=False,
        initializer=tf.compat.v1.zeros_initializer(),
        collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
                     tf.compat.v1.GraphKeys.METRIC_VARIABLES])
    batch = tf.math.confusion_matrix(labels, predictions, num_classes, dtype=tf.int64)
    update = total.assign_add(batch)
  return tf.identity(total), update


def class_metrics(confusion):
  """(precision [C], recall [C], mean per-class accuracy) of a confusion matrix (rows true).

  Precision is NaN for a class never predicted, recall for a class with no example; the mean
  per-class accuracy averages the recall of the classes that have examples.
  """
  confusion = np.asarray(confusion, np.float64)
  diagonal = np.diag(confusion)
  with np.errstate(invalid='ignore', divide='ignore'):
    precision = np.where(confusion.sum(0) > 0, diagonal / confusion.sum(0), np.nan)
    recall = np.where(confusion.sum(1) > 0, diagonal / confusion.sum(1), np.nan)
  present = ~np.isnan(recall)
  mean = float(recall[present].mean()) if present.any() else float('nan')
  return precision, recall, mean
