"""Summaries written from Python, without a graph: image (PNG) and text (Markdown) values for
tf.compat.v1.Summary, tags TensorBoard accepts for class names, and a v1 FileWriter."""
import collections
import io
import os
import unicodedata
import uuid

import numpy as np
import tensorflow as tf
from PIL import Image


def _breaks_tag(char):
  """'/' (it nests tags), whitespace and invisible characters (control, format, separators and
  lone surrogates, which protobuf cannot even encode)."""
  return char == '/' or char.isspace() or unicodedata.category(char) in _INVISIBLE


_INVISIBLE = ('Cc', 'Cf', 'Cs', 'Zs', 'Zl', 'Zp')


def summary_tag(name):
  """A class name as part of a summary tag, readable in any script: letters, digits and signs of
  every script stay (TensorBoard's tags are Unicode), each character that breaks a tag becomes
  '_' ('red roses' -> 'red_roses', 'Löwenzahn' and 'ひまわり' unchanged). NFC normalized."""
  text = unicodedata.normalize('NFC', str(name))
  return ''.join('_' if _breaks_tag(c) else c for c in text) or '_'


def class_tags(names):
  """Unique summary tags for the class names (in class id order): summary_tag of each, where
  two would be equal ('a b' and 'a_b') each of them with its class id appended ('a_b_0',
  'a_b_1'; '_' added until no other tag is the same), so no two classes share a tag."""
  tags = [summary_tag(name) for name in names]
  counts = collections.Counter(tags)
  taken = {tag for tag in tags if counts[tag] == 1}
  unique = []
  for i, tag in enumerate(tags):
    if counts[tag] > 1:
      tag = '%s_%d' % (tag, i)
      while tag in taken:
        tag += '_'
      taken.add(tag)
    unique.append(tag)
  return unique


def image_summary_value(tag, picture):
  """A Summary.Value holding uint8 [H, W, 3] as PNG."""
  return tf.compat.v1.Summary.Value(tag=tag, image=tf.compat.v1.Summary.Image(
      height=picture.shape[0], width=picture.shape[1], colorspace=3,
      encoded_image_string=_png(picture)))


def _png(picture):
  out = io.BytesIO()
  Image.fromarray(np.asarray(picture, np.uint8)).save(out, format='PNG')
  return out.getvalue()


def markdown_row(*cells):
  """One row of a Markdown table, '|' inside a cell escaped (a class named 'pipe|name' would
  split its cell and shift the columns after it)."""
  return '| %s |' % ' | '.join(str(cell).replace('|', '\\|') for cell in cells)


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
