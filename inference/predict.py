"""Classifying photos with a trained checkpoint: what predict_alexnet.py runs.

Each photo is read and checked as the converter checks it (datasets/images.py: an RGB JPEG is
kept byte for byte, CMYK, grayscale, PNG, GIF, BMP, WebP and TIFF are converted to RGB and
re-encoded), so a photo gets the probabilities evaluation gives its converted record. Photos go
through the net in batches; one that cannot be read or decoded is skipped with its reason.
"""
import dataclasses
import os
from typing import Optional

import tensorflow as tf
from absl import logging

import base
from base import UserError
from base import options
from datasets import images as image_checks
from inference import classifier as classifier_lib
from inference import explanations
from inference import photo_files
from inference import reports
from rundir import run_info

LOG_EVERY_SECS = 10.0


@dataclasses.dataclass
class Prediction:
  path: str
  probabilities: Optional[list] = None    # None when skipped
  error: Optional[str] = None


def validate(config):
  if not config.photos:
    raise UserError('name the photos to classify: files, folders or patterns after the flags')
  options.check(config)
  if config.output:
    reports.output_format(config.output)
    if os.path.isdir(config.output):
      raise UserError('--output=%s is a folder; give a file name' % config.output)
  base.check_folder_path(config.explain, 'explain')


def check_output_is_no_photo(output, paths):
  """UserError when --output names one of the photos: writing it would replace the photo."""
  if not output or not os.path.lexists(output):
    return
  for path in paths:
    try:
      same = os.path.samefile(output, path)
    except OSError:
      continue
    if same:
      raise UserError('--output=%s is one of the photos to classify, which the output would '
                      'replace; give another file name' % reports.printable(output))


def read_photo(path):
  """(encoded bytes TensorFlow decodes, None) or (None, why it is skipped)."""
  problem = image_checks.not_a_file(path)  # (a FIFO is never opened: that would wait)
  if problem:
    return None, problem
  result = image_checks.check_image(path)
  return (result.data, None) if result.ok else (None, result.skipped)


# What one photo can make the net's run fail with: its bytes, or its size (--full_image on a
# long strip of a photo).
_PHOTO_ERRORS = (tf.errors.InvalidArgumentError, tf.errors.ResourceExhaustedError)


def _photo_error(error):
  what = ('TensorFlow cannot decode it' if isinstance(error, tf.errors.InvalidArgumentError)
          else 'too large for the memory at this size')
  return '%s (%s)' % (what, base.first_line(error, 200))


def classify_batch(classifier, paths, read_file=read_photo):
  """[Prediction] of a batch of photo paths, in order, with the Classifier's extra outputs
  (images, heat) per classified photo. A photo TensorFlow fails to decode is found by
  classifying the batch's photos one at a time, and skipped. read_file(path) reads each photo
  as read_photo does."""
  read = [(path,) + read_file(path) for path in paths]
  readable = [(path, data) for path, data, _ in read if data is not None]
  outputs = {}
  if readable:
    try:
      values = classifier.run([data for _, data in readable])
      for i, (path, _) in enumerate(readable):
        outputs[path] = {key: value[i] for key, value in values.items()}
    except _PHOTO_ERRORS:
      for path, data in readable:
        try:
          values = classifier.run([data])
          outputs[path] = {key: value[0] for key, value in values.items()}
        except _PHOTO_ERRORS as e:
          outputs[path] = _photo_error(e)
  predictions = []
  for path, _, reason in read:
    found = outputs.get(path, reason)
    if isinstance(found, str):
      predictions.append((Prediction(path, error=found), None))
    else:
      predictions.append((Prediction(path, probabilities=found.pop('probabilities').tolist()),
                          found))
  return predictions


def _batches(paths, batch_size):
  for start in range(0, len(paths), batch_size):
    yield paths[start:start + batch_size]


def predict(config, out=print):
  """Classifies config.photos; prints the table (out, one line per call), writes the output file
  and the Grad-CAM pictures. Returns [Prediction] in order, the arguments naming nothing first."""
  validate(config)
  checkpoint, info = run_info.for_checkpoint(config.checkpoint_path, config.overrides)
  paths, problems = photo_files.expand(config.photos, leave_out=config.explain)
  check_output_is_no_photo(config.output, paths)
  predictions = [Prediction(argument, error=problem) for argument, problem in problems]
  batch_size = 1 if config.full_image else config.batch_size
  logging.info('Classifying %d photo(s) with %s (%s, %d classes%s).', len(paths), checkpoint,
               info.model_name, info.num_classes,
               ', moving averages' if info.moving_average_decay else '')
  table = reports.Table(info.class_names, config.top_k, paths)
  pictures = explanations.Writer(config.explain, info.class_names) if config.explain else None
  classifier = classifier_lib.Classifier(checkpoint, info, config.full_image,
                                         explain=bool(config.explain)) if paths else None
  progress = base.Progress(len(paths))
  try:
    with reports.output_file(config.output, info.class_names) as output:
      for prediction in predictions:
        if output:
          output.skipped(prediction.path, prediction.error)
      if paths:
        out(table.header())
      for batch in _batches(paths, batch_size):
        for prediction, extra in classify_batch(classifier, batch):
          predictions.append(prediction)
          _report(prediction, extra, table, output, pictures, out)
        progress.advance(len(batch))
        if len(paths) > batch_size and progress.due(LOG_EVERY_SECS):
          logging.info('%s', progress.line('photos'))
  finally:
    if classifier:
      classifier.close()
  return predictions


def _report(prediction, extra, table, output, pictures, out):
  if prediction.error:
    if output:
      output.skipped(prediction.path, prediction.error)
    return
  out(table.row(prediction.path, prediction.probabilities))
  if output:
    output.classified(prediction.path, prediction.probabilities)
  if pictures:
    pictures.write(prediction.path, extra['images'], extra['heat'], prediction.probabilities)
