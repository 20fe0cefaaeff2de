"""Summary ops whose tags are exactly the names given, whatever name scope they are built in.

tf.compat.v1.summary.* make the enclosing name scope part of the tag. These build the same
summaries with the tag given, so the suite can build every summary op and its helpers (zero
fractions, drawings, Grad-CAM) under one name scope, SCOPE: TensorBoard's Graphs page then shows
the net, its input and its training ops as the main graph, with the summaries as one node beside
them, instead of a crowd of summary groups that pushes the net into "Auxiliary Nodes" (its
plugin moves groups of outlying degree there). Each op goes into `collections` (default: the
SUMMARIES collection, which tf.compat.v1.summary.merge_all and slim.learning.train read).
"""
import tensorflow as tf

SCOPE = 'summaries'


def _collected(op, collections):
  tf.compat.v1.add_to_collections(
      collections if collections is not None else [tf.compat.v1.GraphKeys.SUMMARIES], op)
  return op


def scalar(tag, tensor, collections=None):
  return _collected(tf.raw_ops.ScalarSummary(tags=tag, values=tensor), collections)


def histogram(tag, values, collections=None):
  return _collected(tf.raw_ops.HistogramSummary(tag=tag, values=values), collections)


def image(name, pictures, max_outputs=1, collections=None):
  """Images uint8 [N, H, W, 3] tagged name + '/image' (max_outputs=1) or name + '/image/i'."""
  return _collected(tf.raw_ops.ImageSummary(tag=name, tensor=pictures, max_images=max_outputs),
                    collections)
