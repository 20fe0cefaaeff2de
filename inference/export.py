"""A checkpoint as a TensorFlow SavedModel that serves: what export_alexnet.py runs.

EXPORT_DIR/<version>/ holds saved_model.pb and variables/ (the moving averages of the weights
when the run kept them, restored into the weights' own names), assets.extra/labels.txt, and with
tflite model.tflite. Two signatures (tag 'serve'):
  serving_default  image_bytes: string [N], encoded JPEG/PNG/GIF/BMP/WebP photos, preprocessed in
                   the graph as evaluation does (central crop); one over the converter's pixel
                   limit (read from its header, before decoding) fails the call
                   (classifier.build)
  predict_images   images: float32 [N, size, size, 3], already preprocessed as the model's
                   preprocessing does ([-1, 1] for alexnet_v2, torchvision's normalisation
                   for alexnet_tv)
both returning probabilities [N, C], class_id [N] (int64) and class_name [N] (string).
On upright RGB JPEGs the SavedModel gives predict_alexnet.py's probabilities; other photos it
decodes with TensorFlow (EXIF orientation ignored, alpha dropped so transparent areas are black,
CMYK as libjpeg reads it) where predict_alexnet.py converts them as the converter does (upright,
on white), so theirs differ: clients should send upright, flattened JPEGs.

The version folder is written under a temporary name in EXPORT_DIR and renamed when complete
(TensorFlow Serving only loads folders named by a number), and never replaced unless asked; the
version is claimed for that rename, so two exports at once take two versions.
"""
import dataclasses
import os
import re
import shutil
import tempfile
import warnings
from typing import Optional

import numpy as np
import tensorflow as tf
from absl import logging

import base
from base import UserError
from base import options
from datasets import dataset_utils
from inference import classifier as classifier_lib
from pictures import ramps
from rundir import checkpoints
from rundir import run_info

SERVING_SIGNATURE = 'serving_default'
IMAGES_SIGNATURE = 'predict_images'
TFLITE_FILENAME = 'model.tflite'
EXTRA_FOLDER = 'assets.extra'   # TensorFlow Serving's place for files beside the model
TFLITE_TOLERANCE = 1e-4         # largest difference of a probability allowed for TFLite
RESTORE_ATTEMPTS = 5            # a folder's newest checkpoint, taken again after a rotation
_VERSION = re.compile(r'^\d+$')
CLAIM = '.version-%d.claim'     # EXPORT_DIR/<this>: a version being renamed into place


@dataclasses.dataclass
class ExportResult:
  path: str                         # EXPORT_DIR/<version>
  version: int
  checkpoint: str
  tflite_bytes: Optional[int] = None
  tflite_difference: Optional[float] = None   # largest |TFLite - SavedModel| probability


def versions(export_dir):
  """The version numbers of the SavedModels in export_dir, ascending."""
  if not os.path.isdir(export_dir):
    return []
  return sorted(int(name) for name in os.listdir(export_dir) if _VERSION.match(name))


def target_version(export_dir, version, overwrite):
  """The version to write: the given one (UserError when it exists, unless overwrite), else one
  more than the highest there (1 in a new folder)."""
  if version is None:
    return (versions(export_dir) or [0])[-1] + 1
  if os.path.exists(os.path.join(export_dir, str(version))) and not overwrite:
    raise UserError('%s already exists; pass --overwrite to replace it, or another --version'
                    % os.path.join(export_dir, str(version)))
  return version


def _signature(inputs, graph):
  tensor_info = tf.compat.v1.saved_model.utils.build_tensor_info
  outputs = {'probabilities': graph.probabilities, 'class_id': graph.class_id,
             'class_name': graph.class_name}
  return tf.compat.v1.saved_model.signature_def_utils.build_signature_def(
      inputs={name: tensor_info(tensor) for name, tensor in inputs.items()},
      outputs={name: tensor_info(tensor) for name, tensor in outputs.items()},
      method_name=tf.compat.v1.saved_model.signature_constants.PREDICT_METHOD_NAME)


def _restore_newest(sess, tensors, checkpoint, model_name, newest):
  """Restores the checkpoint, or when it disappears first (training's rotation) and newest is
  given, the checkpoint newest() names then (up to RESTORE_ATTEMPTS in all). Returns the one
  restored; UserError when it does not fit the model or cannot be read."""
  restorer = tf.compat.v1.train.Saver(tensors.variables)
  for _ in range(RESTORE_ATTEMPTS):
    try:
      checkpoints.check_evaluable(checkpoint, tensors.variables, model_name)
      restorer.restore(sess, checkpoint)
      return checkpoint
    except checkpoints.CheckpointDamaged as e:
      raise UserError(str(e))
    except (checkpoints.CheckpointGone, tf.errors.NotFoundError, ValueError) as e:
      if newest is None or checkpoints.exists(checkpoint):  # a prefix the user named
        raise UserError('cannot read checkpoint %s: %s' % (checkpoint, base.first_line(e)))
    logging.warning('%s disappeared before it could be read (rotated away by training?); '
                    'taking the newest checkpoint of its folder again.', checkpoint)
    checkpoint = newest()
  raise UserError('the newest checkpoint disappeared before it could be read, %d times (training '
                  'rotates checkpoints away faster than they are read); export a checkpoint '
                  'prefix training keeps, or raise --keep_checkpoint_max' % RESTORE_ATTEMPTS)


def write_saved_model(checkpoint, info, path, write_labels=dataset_utils.write_label_file,
                      newest=None):
  """The SavedModel of a checkpoint (run_info.RunInfo info) in a new folder `path`, its labels
  written by write_labels({id: name}, folder) into assets.extra. newest(): the checkpoint to take
  instead when this one disappears before it is read (None: an error). Returns the checkpoint
  written."""
  with tf.Graph().as_default() as graph:
    tensors = classifier_lib.build(info)
    with tf.compat.v1.Session(graph=graph) as sess:
      checkpoint = _restore_newest(sess, tensors, checkpoint, info.model_name, newest)
      builder = tf.compat.v1.saved_model.Builder(path)
      builder.add_meta_graph_and_variables(
          sess, [tf.compat.v1.saved_model.tag_constants.SERVING], strip_default_attrs=True,
          signature_def_map={
              SERVING_SIGNATURE: _signature({'image_bytes': tensors.encoded}, tensors),
              IMAGES_SIGNATURE: _signature({'images': tensors.images}, tensors)})
      builder.save()
  os.makedirs(os.path.join(path, EXTRA_FOLDER))
  write_labels(dict(enumerate(info.class_names)), os.path.join(path, EXTRA_FOLDER))
  return checkpoint


def sample_images(info, count=4, seed=0):
  """Preprocessed-looking float32 images [count, size, size, 3] in [-1, 1] (within the range of
  either preprocessing): smooth colour gradients with noise, to compare two forms of one model
  on."""
  return ramps.gradient_images(count, info.image_size, 1.0, 0.1, seed)


def write_tflite(saved_model_dir, info):
  """Converts the float signature to TensorFlow Lite (saved_model_dir/model.tflite) and checks it
  with the TFLite interpreter against the SavedModel on the same images. Needs eager execution
  (TensorFlow 2's converter). Returns (size in bytes, largest probability difference)."""
  if not tf.executing_eagerly():
    raise RuntimeError('the TFLite conversion needs eager execution (cli.run(graph_mode=False))')
  converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir,
                                                       signature_keys=[IMAGES_SIGNATURE])
  model = converter.convert()
  path = os.path.join(saved_model_dir, TFLITE_FILENAME)
  with base.atomic_path(path) as tmp:
    with open(tmp, 'wb') as f:
      f.write(model)
  images = sample_images(info)
  expected = tf.saved_model.load(saved_model_dir).signatures[IMAGES_SIGNATURE](
      images=tf.constant(images))['probabilities'].numpy()
  got = tflite_probabilities(path, images)
  difference = float(np.max(np.abs(got - expected)))
  if difference > TFLITE_TOLERANCE:
    raise UserError('the TFLite model gives probabilities up to %.3g away from the SavedModel\'s '
                    '(allowed: %g); export without --tflite' % (difference, TFLITE_TOLERANCE))
  return len(model), difference


def tflite_probabilities(path, images):
  """The probabilities the TFLite model at path gives for float images [N, size, size, 3]."""
  with warnings.catch_warnings():
    warnings.simplefilter('ignore')  # tf.lite.Interpreter's notice that LiteRT replaces it
    interpreter = tf.lite.Interpreter(model_path=path)
  runner = interpreter.get_signature_runner(IMAGES_SIGNATURE)
  return runner(images=np.asarray(images, np.float32))['probabilities']


def _claim(export_dir, version):
  """Claims a version while it is checked and renamed into place: a hidden folder made with
  os.mkdir, which fails when another export holds it. Returns its path, or None when held."""
  path = os.path.join(export_dir, CLAIM % version)
  try:
    os.mkdir(path)
  except FileExistsError:
    return None
  return path


def _move_into_place(built, export_dir, version, config, work):
  """Renames the built folder to EXPORT_DIR/<version>; returns the version it took. Each version
  is claimed (_claim) while it is checked and renamed, so two exports at once never take one
  version: without --version the next free number is taken; with it, a version another export
  claimed or wrote meanwhile is a UserError (unless --overwrite, for one it wrote). An existing
  version is replaced only with --overwrite: moved into the work folder (deleted with it), and
  moved back if the rename fails."""
  while True:
    target = os.path.join(export_dir, str(version))
    claim = _claim(export_dir, version)
    if claim is None and config.version is None:
      version += 1
      continue
    if claim is None:
      raise UserError('%s is being written by another export (it holds %s; remove that folder if '
                      'none runs); pass another --version'
                      % (target, os.path.join(export_dir, CLAIM % version)))
    try:
      aside = None
      if os.path.lexists(target):
        if config.version is None:
          version += 1
          continue
        if not config.overwrite:
          raise UserError('%s was written by another export meanwhile; pass --overwrite to '
                          'replace it, or another --version' % target)
        aside = os.path.join(work, 'replaced')
        os.rename(target, aside)
      try:
        os.rename(built, target)
      except OSError:
        if aside:
          os.rename(aside, target)
        raise
      return version
    finally:
      os.rmdir(claim)


def _newest_in(checkpoint_path):
  """newest() for write_saved_model: a training folder's newest complete checkpoint, taken again
  (as evaluation does) when training rotated the one resolved first away; None for a prefix."""
  if not os.path.isdir(checkpoints.strip_suffix(checkpoint_path)):
    return None
  return lambda: checkpoints.resolve(checkpoint_path)


def export(config, write_labels=dataset_utils.write_label_file,
           write_model=write_saved_model):
  """Writes EXPORT_DIR/<version>/ for config.checkpoint_path; returns an ExportResult.
  write_labels, write_model(checkpoint, info, path, write_labels, newest): see
  write_saved_model."""
  options.check(config)
  base.check_folder_path(config.export_dir, 'export_dir')
  checkpoint, info = run_info.for_checkpoint(config.checkpoint_path, config.overrides)
  os.makedirs(config.export_dir, exist_ok=True)
  version = target_version(config.export_dir, config.version, config.overwrite)
  target = os.path.join(config.export_dir, str(version))
  work = tempfile.mkdtemp(prefix='.export-%d-' % version, dir=config.export_dir)
  try:
    built = os.path.join(work, str(version))
    logging.info('Exporting %s (%s, %d classes%s) to %s.', checkpoint, info.model_name,
                 info.num_classes, ', moving averages' if info.moving_average_decay else '',
                 target)
    checkpoint = write_model(checkpoint, info, built, write_labels,
                             newest=_newest_in(config.checkpoint_path))
    result = ExportResult(path=target, version=version, checkpoint=checkpoint)
    if config.tflite:
      result.tflite_bytes, result.tflite_difference = write_tflite(built, info)
    result.version = _move_into_place(built, config.export_dir, version, config, work)
    if result.version != version:
      result.path = os.path.join(config.export_dir, str(result.version))
      logging.info('Version %d was taken by another export meanwhile: this one is version %d.',
                   version, result.version)
  finally:
    shutil.rmtree(work, ignore_errors=True)
  return result
