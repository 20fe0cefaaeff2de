"""Evaluation: one pass with streaming metrics, the checkpoint loop, the rotation race, what lands
in eval_dir (and nothing in train_dir), the projector."""
import errno
import glob
import io
import json
import logging
import os
import shutil
import threading
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from base import UserError
from datasets import dataset_factory
from datasets import reader
from datasets import records
from evaluation import calibration
from evaluation import eval_state
from evaluation import evaluator
from evaluation import metrics
from evaluation import pass_record
from evaluation.eval_config import EvalConfig
from rundir import checkpoints
from rundir import run_info
from summaries import projector
from support import shared_folders
from support.tf_helpers import read_events
from support.tf_helpers import save_random_checkpoint


def eval_config(trained, checkpoint_path, eval_dir, **overrides):
  settings = dict(dataset_dir=trained.dataset_dir, checkpoint_path=str(checkpoint_path),
                  eval_dir=str(eval_dir), batch_size=4, eval_interval_secs=0.1, timeout=5.0,
                  num_preprocessing_threads=1, fixed_photos=0)  # (0.5 s each; tested below)
  settings.update(overrides)
  return EvalConfig(**settings)


def link_checkpoint(prefix, folder):
  """Hard-links a checkpoint's files into folder (the .index last, as TensorFlow writes it)."""
  os.makedirs(folder, exist_ok=True)
  for path in sorted(glob.glob(prefix + '.data-*')) + [prefix + '.index']:
    os.link(path, os.path.join(folder, os.path.basename(path)))
  return os.path.join(folder, os.path.basename(prefix))


def class_counts(splits, split='validation', num_classes=5):
  counts = np.zeros(num_classes, np.int64)
  for _, label, _, _ in splits[split]:
    counts[label] += 1
  return counts


def steps_of(results):
  return [r.step for r in results]


# --- one checkpoint ------------------------------------------------------------------------------

def test_once_metrics_are_fractions_and_counts_add_up_to_the_split(trained, tmp_path, caplog):
  step, prefix = trained.checkpoints[-1]
  with caplog.at_level(logging.INFO):
    [result] = evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval'))
  assert result.step == step
  assert result.num_examples == len(trained.splits['validation']) == 10
  for value in (result.accuracy, result.recall_at_k, result.mean_per_class_accuracy):
    assert 0.0 <= value <= 1.0
  assert result.recall_at_k >= result.accuracy
  assert result.loss > 0.0
  np.testing.assert_array_equal(result.confusion_matrix.sum(1), class_counts(trained.splits))
  assert result.accuracy == pytest.approx(np.trace(result.confusion_matrix) / 10)
  assert 'precision  recall  images' in caplog.text
  assert 'confusion matrix (rows: true class' in caplog.text


def test_once_on_the_training_folder_takes_the_newest_checkpoint(trained, tmp_path):
  results = evaluator.evaluate(eval_config(trained, trained.train_dir, tmp_path / 'eval',
                                           once=True, embedding_every=0, grid_images=0))
  assert steps_of(results) == [trained.checkpoints[-1][0]]


def test_summaries_are_written_at_the_checkpoint_step(trained, tmp_path):
  step, prefix = trained.checkpoints[-1]
  evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval', embedding_every=0,
                                 fixed_photos=3))
  tags = read_events(tmp_path / 'eval')
  for tag in ('eval/accuracy', 'eval/loss', 'eval/recall_at_2', 'eval/mean_per_class_accuracy',
              'eval/recall/daisy', 'eval/num_examples'):
    assert [(s, kind) for s, kind, _ in tags[tag]] == [(step, 'scalar')], tag
  assert tags['eval/num_examples'][0][2] == 10
  for tag in ('eval/confusion_matrix', 'eval/predictions', 'eval/gradcam',
              'fixed_photos/0/gradcam', 'fixed_photos/2/conv1', 'fixed_photos/2/conv5'):
    assert tags[tag][0][:2] == (step, 'image'), tag
    assert tags[tag][0][2].startswith(b'\x89PNG')
  assert not [t for t in tags if t.startswith('fixed_photos/3/')]  # --fixed_photos=3
  _, kind, text = tags['eval/results'][0]
  assert kind == 'text' and b'| daisy |' in text.item()
  # The Grad-CAM grid: the prediction grid's photos, in its order, with heat laid over them.
  grid, heat = (np.asarray(Image.open(io.BytesIO(tags[t][0][2])).convert('RGB'))
                for t in ('eval/predictions', 'eval/gradcam'))
  assert grid.shape == heat.shape and (grid != heat).any()


def test_the_fixed_photos_are_the_split_s_first_in_file_order(trained):
  dataset = dataset_factory.get_dataset('flowers', 'validation', trained.dataset_dir)
  photos = reader.first_records(dataset.data_sources, 4)
  assert len(dataset.data_sources) == 2
  in_order = [records.parse(r) for path in dataset.data_sources for r in records.read(path)]
  assert [p.filename for p in photos] == [r.filename for r in in_order[:4]]
  assert len(reader.first_records(dataset.data_sources, 100)) == 10


def test_full_image_classifies_every_whole_photo(trained, tmp_path):
  _, prefix = trained.checkpoints[-1]
  [result] = evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval', full_image=True,
                                            eval_device='cpu', embedding_every=0))
  assert result.num_examples == 10
  np.testing.assert_array_equal(result.confusion_matrix.sum(1), class_counts(trained.splits))


def test_moving_average_weights_are_the_ones_evaluated(trained, tmp_path):
  _, prefix = trained.checkpoints[-1]
  options = dict(embedding_every=0, grid_images=0)
  [raw] = evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'raw', **options))
  [averaged] = evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'avg',
                                              moving_average_decay=0.9, **options))
  assert averaged.num_examples == 10
  assert averaged.loss != raw.loss


def test_moving_average_decay_on_a_checkpoint_without_averages_is_a_user_error(trained,
                                                                               tmp_path):
  prefix = save_random_checkpoint(str(tmp_path / 'ckpt' / 'model.ckpt-1'), 5, 1)
  with pytest.raises(UserError, match='no moving averages'):
    evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval', moving_average_decay=0.9))


def test_checkpoint_with_another_number_of_classes_is_a_user_error(trained, tmp_path):
  prefix = save_random_checkpoint(str(tmp_path / 'ckpt' / 'model.ckpt-1'), 3, 1)
  with pytest.raises(UserError, match=r'fc8/\w+ with shape \[3\]'):
    evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval'))


def test_embedding_projector_holds_the_fc7_features_metadata_and_sprite(trained, tmp_path):
  step, prefix = trained.checkpoints[-1]
  eval_dir = tmp_path / 'eval'
  [result] = evaluator.evaluate(eval_config(trained, prefix, eval_dir, embedding_size=6))
  assert result.embedding_written
  embedding = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(eval_dir)))
  assert embedding.get_tensor('fc7').shape == (6, 4096)
  files = projector.embedding_files(str(eval_dir), 'fc7')
  with open(files['metadata'], encoding='utf-8') as f:
    lines = f.read().splitlines()
  assert lines[0].split('\t') == ['true', 'predicted', 'correct', 'probability',
                                  'probability_bin', 'filename']
  assert len(lines) == 7
  names = {'daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'}
  written = [(f, names_of(l)) for f, l, _, _ in trained.splits['validation']]
  for line in lines[1:]:
    true, predicted, correct, probability, probability_bin, filename = line.split('\t')
    assert true in names and predicted in names
    assert correct == str(int(true == predicted))
    assert 0.2 <= float(probability) <= 1.0
    assert probability_bin in calibration.confidence_bin_names()
    assert (filename, true) in written
  # The seeded sample: the 6 files of the smallest hash, not the first 6 of the pass.
  smallest = sorted((f for f, _ in written), key=lambda f: pass_record.sample_key(0, f))[:6]
  assert sorted(line.split('\t')[-1] for line in lines[1:]) == sorted(smallest)
  assert os.path.isfile(files['sprite']) and files['sprite'].endswith('fc7_sprite.png')


def names_of(label):
  return ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips'][label]


def test_the_calibration_counted_batch_by_batch_equals_that_of_every_prediction(trained,
                                                                              tmp_path):
  step, prefix = trained.checkpoints[-1]
  fetched = []
  evaluator.evaluate(eval_config(trained, prefix, tmp_path / 'eval', embedding_every=0),
                     on_batch=fetched.append)
  labels = np.concatenate([values['labels'] for values in fetched])
  probabilities = np.concatenate([values['probabilities'] for values in fetched])
  assert len(labels) == 10
  tags = read_events(tmp_path / 'eval')
  for index in range(5):
    [(at, kind, curve)] = tags['eval/pr_curve/' + names_of(index)]
    assert (at, kind) == (step, 'pr_curves')
    expected = calibration.pr_counts(labels == index, probabilities[:, index].astype(np.float64))
    np.testing.assert_array_equal(curve, np.array(expected, np.float32))
  _, ece = calibration.reliability(labels, probabilities)
  assert tags['eval/expected_calibration_error'] == [(step, 'scalar', np.float32(ece))]


def test_class_metrics_leave_undefined_classes_out_of_the_mean():
  confusion = np.array([[3, 0, 1, 0],
                        [1, 0, 0, 0],
                        [2, 0, 4, 0],
                        [0, 0, 0, 0]])
  precision, recall, mean = metrics.class_metrics(confusion)
  np.testing.assert_allclose(precision, [3 / 6, np.nan, 4 / 5, np.nan])
  np.testing.assert_allclose(recall, [3 / 4, 0.0, 4 / 6, np.nan])
  assert mean == pytest.approx((3 / 4 + 0.0 + 4 / 6) / 3)


# --- finding checkpoints -------------------------------------------------------------------------

def test_list_checkpoints_sorts_by_step_and_ignores_incomplete_ones(tmp_path):
  for step in (20, 3, 100):
    (tmp_path / ('model.ckpt-%d.index' % step)).write_bytes(b'')
  (tmp_path / 'model.ckpt-7.data-00000-of-00001').write_bytes(b'')  # no index yet
  assert checkpoints.list_checkpoints(str(tmp_path)) == [
      (3, str(tmp_path / 'model.ckpt-3')), (20, str(tmp_path / 'model.ckpt-20')),
      (100, str(tmp_path / 'model.ckpt-100'))]


@pytest.mark.parametrize('overrides, message', [
    (dict(dataset_dir='{tmp}/nowhere'), 'does not exist'),
    (dict(dataset_split_name='test'), 'unknown split "test"'),
    (dict(dataset_name='imagenet'), r'no validation shards \(imagenet_validation_'),
    (dict(batch_size=0), '--batch_size must be positive'),
    (dict(checkpoint_path='{tmp}/model.ckpt-5', once=True), 'model.ckpt-5 does not exist'),
], ids=['missing_dataset_dir', 'unknown_split', 'unknown_dataset', 'batch_size_0',
        'missing_checkpoint'])
def test_user_mistakes_are_user_errors_before_any_graph(trained, tmp_path, overrides, message):
  """(eval_alexnet.py makes a UserError one line and exit 2: test_eval_script.)"""
  overrides = {name: value.format(tmp=tmp_path) if isinstance(value, str) else value
               for name, value in overrides.items()}
  checkpoint_path = overrides.pop('checkpoint_path', trained.train_dir)
  with pytest.raises(UserError, match=message):
    evaluator.evaluate(eval_config(trained, checkpoint_path, tmp_path / 'eval', **overrides))


def test_eval_dir_equal_to_the_training_folder_is_a_user_error(trained):
  with pytest.raises(UserError, match='is the training folder'):
    evaluator.evaluate(eval_config(trained, trained.train_dir, trained.train_dir + '/'))


def test_mistyped_checkpoint_prefix_is_a_user_error(trained, tmp_path):
  with pytest.raises(UserError, match='does not exist.*holds model.ckpt-'):
    evaluator.evaluate(eval_config(trained, os.path.join(trained.train_dir, 'model.ckpt-999'),
                                   tmp_path / 'eval'))


# --- the loop ------------------------------------------------------------------------------------

def test_loop_evaluates_every_waiting_checkpoint_in_order_and_stops_at_the_last_step(
    trained, tmp_path):
  watched = tmp_path / 'train'
  for _, prefix in reversed(trained.checkpoints):
    link_checkpoint(prefix, str(watched))
  last = trained.checkpoints[-1][0]
  start = time.monotonic()
  results = evaluator.evaluate(eval_config(trained, watched, tmp_path / 'eval', timeout=60,
                                           max_number_of_steps=last, embedding_every=0,
                                           fixed_photos=3))
  assert steps_of(results) == [s for s, _ in trained.checkpoints]
  assert time.monotonic() - start < 50  # it did not wait for the timeout
  # The fixed photos at every step, for the Images slider.
  tags = read_events(tmp_path / 'eval')
  for i in range(3):
    for view in ('gradcam', 'conv1', 'conv5'):
      assert [s for s, _, _ in tags['fixed_photos/%d/%s' % (i, view)]] == steps_of(results)


def test_loop_picks_up_a_checkpoint_written_while_it_waits_then_ends_on_timeout(
    trained, tmp_path):
  watched = tmp_path / 'train'
  watched.mkdir()
  step, prefix = trained.checkpoints[-1]
  writer = threading.Timer(1.0, link_checkpoint, [prefix, str(watched)])
  writer.start()
  start = time.monotonic()
  try:
    results = evaluator.evaluate(eval_config(trained, watched, tmp_path / 'eval', timeout=2.0,
                                             embedding_every=0, grid_images=0))
  finally:
    writer.join()
  assert steps_of(results) == [step]
  assert time.monotonic() - start >= 3.0  # 1 s before the checkpoint, 2 s of timeout after


def test_loop_without_checkpoints_ends_on_timeout(trained, tmp_path):
  start = time.monotonic()
  results = evaluator.evaluate(eval_config(trained, tmp_path / 'not_yet', tmp_path / 'eval',
                                           timeout=0.5))
  assert results == []
  assert 0.5 <= time.monotonic() - start < 10


def test_restarted_evaluator_goes_on_where_it_stopped(trained, tmp_path):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  (first_step, first), (second_step, second) = trained.checkpoints[0], trained.checkpoints[-1]
  options = dict(timeout=0.01, embedding_every=0, grid_images=0)
  link_checkpoint(first, str(watched))
  assert steps_of(evaluator.evaluate(eval_config(trained, watched, eval_dir, **options))) == [
      first_step]
  link_checkpoint(second, str(watched))
  assert steps_of(evaluator.evaluate(eval_config(trained, watched, eval_dir, **options))) == [
      second_step]
  state = json.loads((eval_dir / eval_state.EVAL_STATE_FILENAME).read_text())
  assert [e['step'] for e in state['evaluated']] == [first_step, second_step]
  assert state['last_step'] == second_step


def test_loop_stops_at_once_when_the_last_step_is_already_evaluated(trained, tmp_path):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  step, prefix = trained.checkpoints[-1]
  link_checkpoint(prefix, str(watched))
  options = dict(timeout=60.0, max_number_of_steps=step, embedding_every=0, grid_images=0)
  assert steps_of(evaluator.evaluate(eval_config(trained, watched, eval_dir, **options))) == [step]
  start = time.monotonic()
  assert evaluator.evaluate(eval_config(trained, watched, eval_dir, **options)) == []
  assert time.monotonic() - start < 10


def test_loop_learns_training_s_last_step_from_run_json(trained, tmp_path):
  # No --max_number_of_steps: the evaluator stops after the step training's run.json names,
  # instead of waiting --timeout for a checkpoint that never comes.
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  step, prefix = trained.checkpoints[-1]
  link_checkpoint(prefix, str(watched))
  for name in (run_info.FILENAME, run_info.LABELS_FILENAME):
    shutil.copy(os.path.join(trained.train_dir, name), str(watched / name))
  assert run_info.read(str(watched)).max_number_of_steps == step
  start = time.monotonic()
  options = dict(timeout=120.0, max_number_of_steps=0, embedding_every=0, grid_images=0)
  assert steps_of(evaluator.evaluate(eval_config(trained, watched, eval_dir, **options))) == [step]
  assert time.monotonic() - start < 100


# --- a rerun writes each step's summaries once ---------------------------------------------------

def accuracy_steps(eval_dir):
  return sorted(step for step, _, _ in read_events(eval_dir).get('eval/accuracy', []))


def test_evaluating_one_checkpoint_twice_writes_its_summaries_once(trained, tmp_path):
  step, prefix = trained.checkpoints[-1]
  eval_dir = tmp_path / 'eval'
  for _ in range(2):
    [result] = evaluator.evaluate(eval_config(trained, prefix, eval_dir, embedding_every=0,
                                              grid_images=0))
    assert result.step == step
  assert accuracy_steps(eval_dir) == [step]


def test_the_loop_after_once_writes_the_other_steps_only(trained, tmp_path):
  step, prefix = trained.checkpoints[-1]
  eval_dir = tmp_path / 'eval'
  options = dict(timeout=0.01, embedding_every=0, grid_images=0)
  evaluator.evaluate(eval_config(trained, prefix, eval_dir, **options))
  results = evaluator.evaluate(eval_config(trained, trained.train_dir, eval_dir, **options))
  assert steps_of(results) == [s for s, _ in trained.checkpoints]
  assert accuracy_steps(eval_dir) == [s for s, _ in trained.checkpoints]


def test_a_rerun_after_a_failed_projector_write_does_not_repeat_the_summaries(
    trained, tmp_path):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  step, prefix = trained.checkpoints[-1]
  link_checkpoint(prefix, str(watched))
  options = dict(timeout=0.01, embedding_size=4, grid_images=0)

  def full_disk(*args):
    raise OSError(errno.ENOSPC, 'No space left on device')
  with pytest.raises(OSError):
    evaluator.evaluate(eval_config(trained, watched, eval_dir, **options),
                       write_projector=full_disk)
  [result] = evaluator.evaluate(eval_config(trained, watched, eval_dir, **options))
  assert result.step == step and result.embedding_written
  assert accuracy_steps(eval_dir) == [step]
  state = json.loads((eval_dir / eval_state.EVAL_STATE_FILENAME).read_text())
  assert state['last_step'] == step


# --- the rotation race (tensorflow#39033) --------------------------------------------------------

class DeleteBeforeFirstRestore(tf.compat.v1.train.SessionRunHook):
  """Deletes a checkpoint when the first evaluation's session is about to restore it."""

  def __init__(self, prefix):
    self.prefix = prefix
    self.done = False

  def begin(self):
    if not self.done:
      self.done = True
      for path in glob.glob(self.prefix + '.*'):
        os.remove(path)


def test_checkpoint_deleted_before_restore_is_skipped_and_the_loop_goes_on(trained, tmp_path):
  watched, eval_dir = tmp_path / 'train', tmp_path / 'eval'
  (first_step, first), (second_step, second) = trained.checkpoints[0], trained.checkpoints[-1]
  doomed = link_checkpoint(first, str(watched))
  link_checkpoint(second, str(watched))
  hook = DeleteBeforeFirstRestore(doomed)
  results = evaluator.evaluate(
      eval_config(trained, watched, eval_dir, timeout=0.01, embedding_every=0, grid_images=0),
      hooks=[hook])
  assert hook.done
  assert steps_of(results) == [second_step]
  state = json.loads((eval_dir / eval_state.EVAL_STATE_FILENAME).read_text())
  assert [s['step'] for s in state['skipped']] == [first_step]


def test_checkpoint_gone_between_listing_and_reading_is_skipped(trained, tmp_path):
  watched = tmp_path / 'train'
  step, prefix = trained.checkpoints[-1]
  link_checkpoint(prefix, str(watched))
  phantom = (step - 1, str(watched / ('model.ckpt-%d' % (step - 1))))
  results = evaluator.evaluate(
      eval_config(trained, watched, tmp_path / 'eval', timeout=0.01, embedding_every=0,
                  grid_images=0),
      list_checkpoints=lambda folder: sorted(checkpoints.list_checkpoints(folder) + [phantom]))
  assert steps_of(results) == [step]


def test_nothing_is_written_into_the_training_folder(trained, tmp_path):
  before = shared_folders.snapshot(trained.train_dir)
  results = evaluator.evaluate(eval_config(trained, trained.train_dir, tmp_path / 'eval',
                                           timeout=0.01))
  assert len(results) == len(trained.checkpoints)
  assert shared_folders.snapshot(trained.train_dir) == before
  assert os.path.isfile(tmp_path / 'eval' / 'projector_config.pbtxt')


# --- read back by TensorBoard itself -------------------------------------------------------------

@pytest.mark.slow
def test_tensorboard_serves_the_projector_scalars_and_grad_cam_images(trained, tmp_path):
  from support import tb_server
  step, prefix = trained.checkpoints[-1]
  logdir = tmp_path / 'logs'
  evaluator.evaluate(eval_config(trained, prefix, logdir / 'eval', fixed_photos=3))
  with tb_server.tensorboard(str(logdir)) as tb:
    assert 'eval' in tb.wait_for(lambda: tb.get_json('/data/plugin/projector/runs'))
    info = tb.get_json('/data/plugin/projector/info', run='eval')
    [embedding] = [e for e in info['embeddings'] if e['tensorName'] == 'fc7']
    assert [int(d) for d in embedding['tensorShape']] == [10, 4096]
    tensor = tb.get_bytes('/data/plugin/projector/tensor', run='eval', name='fc7')
    assert len(tensor) == 10 * 4096 * 4
    metadata = tb.get_bytes('/data/plugin/projector/metadata', run='eval', name='fc7')
    assert metadata.decode().splitlines()[0].split('\t') == list(pass_record.METADATA_COLUMNS)
    sprite = tb.get_bytes('/data/plugin/projector/sprite_image', run='eval', name='fc7')
    assert sprite.startswith(b'\x89PNG')
    scalars = tb.wait_for(lambda: tb.get_json('/data/plugin/scalars/tags').get('eval'))
    assert {'eval/accuracy', 'eval/loss', 'eval/recall_at_2'} <= set(scalars)
    images = tb.wait_for(lambda: tb.get_json('/data/plugin/images/tags').get('eval'))
    assert {'eval/confusion_matrix', 'eval/predictions', 'eval/gradcam'} <= set(images)
    assert len([t for t in images if t.startswith('fixed_photos/')]) == 3 * 3
    # The Grad-CAM pictures decode as TensorBoard serves them, at the checkpoint's step.
    sizes = {}
    for tag in ('eval/predictions', 'eval/gradcam', 'fixed_photos/0/gradcam'):
      (entry,) = tb.get_json('/data/plugin/images/images', run='eval', tag=tag)
      assert entry['step'] == step
      png = tb.get_bytes('/data/plugin/images/individualImage?' + entry['query'])
      sizes[tag] = Image.open(io.BytesIO(png)).convert('RGB').size
    assert sizes['eval/gradcam'] == sizes['eval/predictions']
    assert sizes['fixed_photos/0/gradcam'][0] == 224
