"""export_alexnet.py: a SavedModel that TensorFlow 2 loads in a fresh process and that gives
predict_alexnet.py's probabilities; versions written atomically, never replaced unless asked;
the TensorFlow Lite model of the float signature."""
import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from base import UserError
from datasets import dataset_utils
from datasets.images import DEFAULT_MAX_PIXELS
from inference import classifier
from inference import export
from inference import predict
from inference.export_config import ExportConfig
from inference.predict_config import PredictConfig
from rundir import run_info
from support.bombs import zero_png
from support.predict_helpers import photo_bytes
from support.predict_helpers import reorder_labels
from support.predict_helpers import save_checkpoint
from support.scripts import run_script

SAVED_MODEL_CLI = os.path.join(os.path.dirname(sys.executable), 'saved_model_cli')

# Runs in a fresh interpreter: TensorFlow 2 as a user (or a server) has it, eager execution on.
LOAD_AND_CALL = '''
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
photos = [open(path, 'rb').read() for path in sys.argv[2:]]
out = model.signatures['serving_default'](image_bytes=tf.constant(photos))
print(json.dumps({'eager': tf.executing_eagerly(),
                  'probabilities': out['probabilities'].numpy().tolist(),
                  'class_id': out['class_id'].numpy().tolist(),
                  'class_name': [n.decode() for n in out['class_name'].numpy()]}))
'''

# Classifies the photos, then sends them again with a bomb last: prints the probabilities, the
# error and how much the peak memory grew (MB) over the second call.
SERVE_A_BOMB = '''
import json, resource, sys
import tensorflow as tf
def peak():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']
photos = [open(path, 'rb').read() for path in sys.argv[2:]]
out = serve(image_bytes=tf.constant(photos[:-1]))
before, error = peak(), None
try:
  serve(image_bytes=tf.constant(photos))
except tf.errors.InvalidArgumentError as e:
  error = e.message
print(json.dumps({'probabilities': out['probabilities'].numpy().tolist(), 'error': error,
                  'growth_mb': peak() - before}))
'''


def jpeg_files(folder, count=3):
  """RGB JPEG photos: bytes the SavedModel and predict_alexnet.py both take as they are (other
  formats predict_alexnet.py converts as the converter does, the SavedModel decodes them)."""
  paths = [os.path.join(str(folder), 'photo%d.jpg' % i) for i in range(count)]
  for i, path in enumerate(paths):
    with open(path, 'wb') as f:
      f.write(photo_bytes(size=(120 + 40 * i, 100), seed=i))
  return paths


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """(training folder, export folder) with version 1 of a described checkpoint."""
  root = tmp_path_factory.mktemp('export')
  train_dir = str(root / 'train')
  save_checkpoint(train_dir, step=4)
  export_dir = str(root / 'models')
  result = export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir))
  assert result.version == 1 and result.path == os.path.join(export_dir, '1')
  return train_dir, export_dir


@pytest.mark.slow
def test_the_saved_model_loads_in_tf2_and_gives_the_probabilities_of_predict(exported,
                                                                            tmp_path):
  train_dir, export_dir = exported
  photos = jpeg_files(tmp_path)
  process = subprocess.run([sys.executable, '-c', LOAD_AND_CALL, os.path.join(export_dir, '1')]
                           + photos, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert process.returncode == 0, process.stderr[-3000:]
  served = json.loads(process.stdout.strip().splitlines()[-1])
  predictions = predict.predict(PredictConfig(checkpoint_path=train_dir, photos=photos),
                                out=lambda line: None)
  expected = np.array([p.probabilities for p in predictions])
  assert served['eager']
  np.testing.assert_allclose(served['probabilities'], expected, atol=1e-5)
  assert np.ptp(expected) > 0.2  # far from uniform: the comparison means something
  names = run_info.read(train_dir).class_names
  assert served['class_id'] == np.argmax(expected, 1).tolist()
  assert served['class_name'] == [names[i] for i in served['class_id']]


@pytest.mark.slow
def test_the_saved_model_refuses_a_decompression_bomb_before_decoding_it(exported, tmp_path):
  _, export_dir = exported
  photos = {'photo.jpg': photo_bytes(), 'photo.png': photo_bytes(image_format='PNG'),
            'bomb.png': zero_png(12000, 12000)}  # 0.4 MB, 432 MB of pixels
  paths = []
  for name, data in photos.items():
    paths.append(str(tmp_path / name))
    with open(paths[-1], 'wb') as f:
      f.write(data)
  process = subprocess.run([sys.executable, '-c', SERVE_A_BOMB, os.path.join(export_dir, '1')]
                           + paths, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert process.returncode == 0, process.stderr[-3000:]
  served = json.loads(process.stdout.strip().splitlines()[-1])
  assert np.array(served['probabilities']).shape == (2, len(run_info.read(
      exported[0]).class_names))  # a JPEG and a PNG within the limit are classified
  assert 'image 2 is 12000x12000: 144000000 pixels, over the limit of %d pixels' % (
      DEFAULT_MAX_PIXELS) in served['error']
  assert served['growth_mb'] < 200  # never decoded: its pixels alone are 432 MB


def test_saved_model_cli_lists_both_signatures(exported):
  _, export_dir = exported
  process = subprocess.run([SAVED_MODEL_CLI, 'show', '--all', '--dir',
                            os.path.join(export_dir, '1')], capture_output=True, text=True,
                           timeout=300, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert process.returncode == 0, process.stderr[-3000:]
  shown = process.stdout
  assert "signature_def['serving_default']" in shown
  assert "signature_def['predict_images']" in shown
  assert 'image_bytes' in shown and 'dtype: DT_STRING' in shown
  assert 'shape: (-1, 224, 224, 3)' in shown
  for output in ('probabilities', 'class_id', 'class_name'):
    assert "outputs['%s']" % output in shown


def test_versions_count_up_and_an_existing_one_is_replaced_only_when_asked(exported):
  train_dir, export_dir = exported
  config = ExportConfig(checkpoint_path=train_dir, export_dir=export_dir)
  assert export.export(config).version == 2
  with pytest.raises(UserError, match='already exists; pass --overwrite'):
    export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir,
                                      version=1))
  marker = os.path.join(export_dir, '1', 'marker')
  open(marker, 'w').close()
  export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir, version=1,
                                    overwrite=True))
  assert not os.path.exists(marker)
  assert sorted(os.listdir(export_dir)) == ['1', '2']  # no temporary folder left
  assert export.versions(export_dir) == [1, 2]
  assert sorted(os.listdir(os.path.join(export_dir, '1'))) == [
      'assets.extra', 'saved_model.pb', 'variables']


def test_a_failed_export_leaves_nothing_behind(exported, tmp_path):
  train_dir, _ = exported
  export_dir = str(tmp_path / 'models')

  def fail(*args):
    raise OSError(28, 'No space left on device')

  with pytest.raises(OSError):
    export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir),
                  write_labels=fail)
  assert os.listdir(export_dir) == []


def racing(config):
  """write_labels for an export that, while it builds (its version chosen, nothing moved yet),
  lets a second export of `config` run to the end: the race of two exports at once, made
  deterministic. The second one's ExportResult is appended to the list returned."""
  others = []

  def write_labels(labels, folder):
    dataset_utils.write_label_file(labels, folder)
    if not others:
      others.append(export.export(config))
  return write_labels, others


def test_two_exports_at_once_take_two_versions(exported, tmp_path):
  train_dir, _ = exported
  export_dir = str(tmp_path / 'models')
  config = ExportConfig(checkpoint_path=train_dir, export_dir=export_dir)
  write_labels, others = racing(config)
  first = export.export(config, write_labels=write_labels)
  [second] = others
  assert (second.version, first.version) == (1, 2)
  assert first.path == os.path.join(export_dir, '2')
  assert sorted(os.listdir(export_dir)) == ['1', '2']  # both kept, no claim left
  for version in ('1', '2'):
    assert os.path.isfile(os.path.join(export_dir, version, 'saved_model.pb'))


def test_an_explicit_version_written_meanwhile_is_refused_not_replaced(exported, tmp_path):
  train_dir, _ = exported
  export_dir = str(tmp_path / 'models')
  config = ExportConfig(checkpoint_path=train_dir, export_dir=export_dir, version=5)
  write_labels, others = racing(config)
  with pytest.raises(UserError, match='5 was written by another export meanwhile; pass '
                     '--overwrite'):
    export.export(config, write_labels=write_labels)
  assert others[0].version == 5 and sorted(os.listdir(export_dir)) == ['5']
  # a version claimed by a running export (its claim folder) is refused too; a free one is not
  os.mkdir(os.path.join(export_dir, export.CLAIM % 6))
  with pytest.raises(UserError, match='6 is being written by another export'):
    export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir,
                                      version=6))
  assert export.export(ExportConfig(checkpoint_path=train_dir,
                                           export_dir=export_dir)).version == 7


def rotate_away(checkpoint):
  """What training's rotation does: a checkpoint's files deleted, the .index first."""
  for name in sorted(glob.glob(checkpoint + '.*'), key=lambda n: not n.endswith('.index')):
    os.remove(name)


def test_a_checkpoint_rotated_away_during_the_export_is_taken_again_from_the_folder(tmp_path):
  train_dir, export_dir = str(tmp_path / 'train'), str(tmp_path / 'models')
  first = save_checkpoint(train_dir, step=4)
  tried = []

  def racing(checkpoint, info, path, write_labels, newest):
    tried.append(checkpoint)
    if len(tried) == 1:  # training saves step 5 and rotates the resolved one away meanwhile
      save_checkpoint(train_dir, step=5, describe=False)
      rotate_away(checkpoint)
    return export.write_saved_model(checkpoint, info, path, write_labels, newest)

  config = ExportConfig(checkpoint_path=train_dir, export_dir=export_dir)
  result = export.export(config, write_model=racing)
  assert tried == [first] and result.checkpoint == os.path.join(train_dir, 'model.ckpt-5')
  assert export.versions(export_dir) == [1]
  # A prefix the user named is never swapped for another checkpoint (here: none newer).
  prefix = config.checkpoint_path = os.path.join(train_dir, 'model.ckpt-5')
  with pytest.raises(UserError, match='cannot read checkpoint %s: ' % prefix):
    export.export(config, write_model=lambda c, *args, **kwargs: (
        rotate_away(c), export.write_saved_model(c, *args, **kwargs)))
  assert export.versions(export_dir) == [1]


def test_a_checkpoint_that_keeps_disappearing_is_tried_a_bounded_number_of_times(tmp_path):
  train_dir = str(tmp_path / 'train')
  save_checkpoint(train_dir, step=4)
  checkpoint, info = run_info.for_checkpoint(train_dir)
  rotate_away(checkpoint)
  asked = []

  def newest():
    asked.append(1)
    return os.path.join(train_dir, 'model.ckpt-%d' % (5 + len(asked)))  # gone again at once
  with pytest.raises(UserError, match='disappeared before it could be read, %d times'
                     % export.RESTORE_ATTEMPTS):
    export.write_saved_model(checkpoint, info, str(tmp_path / 'model'), newest=newest)
  assert len(asked) == export.RESTORE_ATTEMPTS


def test_a_reordered_labels_file_is_refused_and_nothing_exported(tmp_path):
  train_dir, export_dir = str(tmp_path / 'train'), str(tmp_path / 'models')
  save_checkpoint(train_dir, step=4)
  labels = reorder_labels(train_dir)
  with pytest.raises(UserError, match='%s does not match %s' % (
      labels, os.path.join(train_dir, 'run.json'))):
    export.export(ExportConfig(checkpoint_path=train_dir, export_dir=export_dir))
  assert not os.path.exists(export_dir)


def preprocessed(train_dir, photos):
  """The float images the serving signature makes of the photos' bytes."""
  _, info = run_info.for_checkpoint(train_dir)
  with tf.Graph().as_default():
    encoded = tf.compat.v1.placeholder(tf.string, [])
    image = classifier.preprocess_fn(info)(encoded)
    with tf.compat.v1.Session() as sess:
      return np.stack([sess.run(image, {encoded: open(p, 'rb').read()}) for p in photos])


@pytest.mark.slow
def test_export_script_writes_a_tflite_model_that_agrees_with_the_saved_model(exported,
                                                                             tmp_path):
  train_dir, _ = exported
  export_dir = str(tmp_path / 'models')
  process = run_script('export_alexnet.py', '--checkpoint_path=%s' % train_dir,
                       '--export_dir=%s' % export_dir, '--version=7', '--tflite')
  assert process.returncode == 0, process.stderr[-3000:]
  assert 'TensorFlow Lite model: %s/7/model.tflite' % export_dir in process.stderr
  photos = jpeg_files(tmp_path)
  expected = [p.probabilities for p in predict.predict(
      PredictConfig(checkpoint_path=train_dir, photos=photos), out=lambda line: None)]
  got = export.tflite_probabilities(os.path.join(export_dir, '7', 'model.tflite'),
                                    preprocessed(train_dir, photos))
  np.testing.assert_allclose(got, expected, atol=1e-4)
  # (A second run onto version 7 is refused: export.export's UserError, tested in process in
  # test_versions_count_up_and_an_existing_one_is_replaced_only_when_asked. cli.run, which every
  # script's main runs under, makes a UserError one line and exit 2: from the shell in
  # test_eval_script, test_predict_script and test_train_script.)
