"""Summaries written from Python, without a graph: image (PNG) and text (Markdown) values for
tf.compat.v1.Summary, a tag TensorBoard accepts, and a v1 FileWriter."""
import io
import os
import re
import uuid

import numpy as np
import tensorflow as tf
from PIL import Image


def summary_tag(name):
  """A class name as part of a summary tag: runs of other characters than letters, digits and
  _ . - become '_'."""
  return re.sub(r'[^A-Za-z0-9_.\-]+', '_', str(name))


def image_summary_value(tag, picture):
  """A Summary.Value holding uint8 [H, W, 3] as PNG."""
  return tf.compat.v1.Summary.Value(tag=tag, image=tf.compat.v1.Summary.Image(
      height=picture.shape[0], width=picture.shape[1], colorspace=3,
      encoded_image_string=_png(picture)))


def _png(picture):
  out = io.BytesIO()
  Image.fromarray(np.asarray(picture, np.uint8)).save(out, format='PNG')
  return out.getvalue()


def text_summary_value(tag, text):
  """A Summary.Value for TensorBoard's text dashboard (Markdown)."""
  value = tf.compat.v1.Summary.Value(tag=tag, tensor=tf.compat.v1.make_tensor_proto(
      text.encode('utf-8'), dtype=tf.string))
  value.metadata.plugin_data.plugin_name = 'text'
  return value


def make_writer(log_dir):
  """A v1 FileWriter (which wants graph mode) for log_dir, without a graph.

  Its file name ends in a suffix of its own: event file names otherwise differ only by the
  second they were opened in, and a second writer opened in the same second (the trainer's
  beside this one) would write into the same file."""
  with tf.Graph().as_default():
    return tf.compat.v1.summary.FileWriter(log_dir, filename_suffix='.%d.%s' % (
        os.getpid(), uuid.uuid4().hex[:8]))
