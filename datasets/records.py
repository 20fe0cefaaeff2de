"""The TFRecord side of the converter and its checks: tf.train.Example records written, read back
and their JPEGs decoded. The one module of the conversion that imports TensorFlow.

The keys are TF-Slim's (image/encoded, image/format, image/class/label, image/height,
image/width) plus image/filename, so research/slim's flowers reader reads our shards and ours
reads theirs. The converter's worker processes never import this module (they only check photos,
datasets/images.py); the process that writes the shards does.
"""
import collections
import contextlib
import errno
import os

import tensorflow as tf

import base

IMAGE_FORMAT = 'jpeg'

Record = collections.namedtuple('Record', 'encoded format label height width filename')
Record.__doc__ = 'The fields of one record; each None when the record lacks it.'


class CorruptFile(Exception):
  """A TFRecord file that does not read back whole (a length or CRC check failed): str(e) is
  TensorFlow's first line about it."""


# --- tf.train.Example -------------------------------------------------------------------------

def int64_feature(values):
  if not isinstance(values, (tuple, list)):
    values = [values]
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def bytes_feature(values):
  if isinstance(values, str):  # surrogateescape: a file name's bytes that are not UTF-8, as is.
    values = values.encode('utf-8', 'surrogateescape')
  return tf.train.Feature(bytes_list=tf.train.BytesList(value=[values]))


def image_to_tfexample(image_data, image_format, height, width, class_id, filename):
  """One record: JPEG bytes, format, label, size and the photo's path relative to its root."""
  return tf.train.Example(features=tf.train.Features(feature={
      'image/encoded': bytes_feature(image_data),
      'image/format': bytes_feature(image_format),
      'image/class/label': int64_feature(class_id),
      'image/height': int64_feature(height),
      'image/width': int64_feature(width),
      'image/filename': bytes_feature(filename),
  }))


def _single(example, key, kind):
  values = getattr(example.features.feature[key], kind).value
  return values[0] if len(values) == 1 else None


def parse(serialized):
  """The Record in one serialized tf.train.Example."""
  example = tf.train.Example.FromString(serialized)
  return Record(encoded=_single(example, 'image/encoded', 'bytes_list'),
                format=_single(example, 'image/format', 'bytes_list'),
                label=_single(example, 'image/class/label', 'int64_list'),
                height=_single(example, 'image/height', 'int64_list'),
                width=_single(example, 'image/width', 'int64_list'),
                filename=_single(example, 'image/filename', 'bytes_list'))


# --- TFRecord files ---------------------------------------------------------------------------

# TensorFlow's errors for a file that cannot be written, as the OSError the rest of the suite
# handles: a full disk (or quota) is RESOURCE_EXHAUSTED there.
_OS_ERRORS = ((tf.errors.ResourceExhaustedError, errno.ENOSPC),
              (tf.errors.PermissionDeniedError, errno.EACCES))


@contextlib.contextmanager
def file_writer(path):
  """Yields write(example), which appends a tf.train.Example to the TFRecord file `path`.
  A full disk or a refused write is an OSError (ENOSPC, EACCES) naming the file."""
  try:
    with tf.io.TFRecordWriter(path) as records:
      yield lambda example: records.write(example.SerializeToString())
  except tuple(error for error, _ in _OS_ERRORS) as e:
    code = next(code for error, code in _OS_ERRORS if isinstance(e, error))
    raise OSError(code, os.strerror(code), path) from e


def read(path):
  """Yields the serialized records of a TFRecord file; raises CorruptFile where one does not
  read back (every record before it is yielded)."""
  try:
    for serialized in tf.compat.v1.io.tf_record_iterator(path):
      yield serialized
  except tf.errors.DataLossError as e:
    raise CorruptFile(base.first_line(e)) from None


class JpegShapes(object):
  """The shape tf.io.decode_jpeg(channels=3) gives JPEG bytes, from a graph of its own (works
  whether or not eager execution is enabled)."""

  def __init__(self):
    self._graph = tf.Graph()
    with self._graph.as_default():
      self._data = tf.compat.v1.placeholder(tf.string, [])
      self._shape = tf.shape(tf.io.decode_jpeg(self._data, channels=3))
    self._session = tf.compat.v1.Session(graph=self._graph)

  def shape(self, data):
    """[height, width, 3], or None when the bytes do not decode."""
    try:
      return list(self._session.run(self._shape, {self._data: data}))
    except tf.errors.InvalidArgumentError:
      return None

  def close(self):
    self._session.close()
