"""Training: a short run, resume, fine-tuning, batch norm, clones, precision, the compat seam."""
import io
import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_slim as slim
from PIL import Image

from base import UserError
from nets import nets_factory
from rundir import session
from support import tf_helpers
from support.dataset_helpers import write_records_dataset
from support.tf_helpers import read_events
from support.tf_helpers import save_random_checkpoint
from training import clones
from training import cluster_roles
from training import resources
from training import trainer
from training.steps import StepFunction

config = tf_helpers.tiny_train_config


def checkpoint_value(train_dir, name):
  return tf.train.load_checkpoint(tf.train.latest_checkpoint(str(train_dir))).get_tensor(name)


def train_recording_losses(cfg):
  """Trains with cfg; returns (final step, stop signal, the loss of every logged step)."""
  losses = []

  class Recorder(StepFunction):
    def _log(self, step, loss, values, writer):
      losses.append(loss)
      super()._log(step, loss, values, writer)

  step, stopped = trainer.train(cfg, step_function=Recorder)
  return step, stopped, losses


# 40 steps of 8 images (195 px, the least the net takes) at 0.01: enough for the loss on
# solid-colour classes to fall clearly (by 0.64 at 195 px as at 224).
LEARNING = dict(batch_size=8, max_number_of_steps=40, train_image_size=195, log_every_n_steps=1,
                learning_rate=0.01, weight_decay=0.0)


# Plain sgd where how the weights move is not what is tested: momentum's slots would make every
# checkpoint twice as large (370 MB, not 185; each save costs seconds, most of it system time).
SGD = dict(optimizer='sgd')


@pytest.mark.slow
def test_short_run_learns_and_writes_checkpoints_scalars_and_images(records_dataset, tmp_path):
  # The Supervisor writes the summaries at the start, then every save_summaries_secs: each write
  # (histograms of every weight, pictures) costs ~3 CPU-s, so every 2 s made 11 writes and two
  # thirds of this test's time (a slower machine, more writes); every 10 s makes a few.
  # The tf.data pipeline, seeded: the queue pipeline's order, another in each run, once kept the
  # loss near chance over the 40 steps (alexnet_v2's fc6/fc7 start small): a fall of 0.13.
  cfg = config(records_dataset[0], tmp_path, save_summaries_secs=10, summarize_histograms=True,
               input_pipeline='tf_data', **LEARNING)
  step, stopped, losses = train_recording_losses(cfg)
  assert (step, stopped) == (40, None)
  assert np.mean(losses[-8:]) < np.mean(losses[:8]) - 0.2
  assert int(checkpoint_value(tmp_path, 'global_step')) == 40
  tags = read_events(tmp_path)
  for tag in ('losses/cross_entropy', 'losses/regularization', 'losses/total',
              'accuracy/train_batch', 'accuracy/train_moving', 'learning_rate', 'images_per_sec',
              'sparsity/alexnet_v2/conv1', 'sparsity/alexnet_v2/pool1',
              'activations/alexnet_v2/pool1', 'weights/alexnet_v2/conv1/weights'):
    assert tag in tags, tag
  # One tag per layer, whatever scope a layer's op has; no sparsity of the logits (always 0).
  assert not [t for t in tags
              if 'clone_' in t or t.endswith('_1') or t == 'sparsity/alexnet_v2/fc8']
  assert {'_hparams_/experiment', '_hparams_/session_start_info', 'run/config',
          'run/dataset'} <= set(tags)
  image_tags = {t: v for t, v in tags.items() if v[0][1] == 'image'}
  assert any('prediction' in t for t in image_tags), sorted(image_tags)
  assert sum('conv1' in t for t in image_tags) >= 2  # activations and filters
  assert any('conv5' in t for t in image_tags)
  for tag, values in image_tags.items():
    picture = Image.open(io.BytesIO(values[-1][2]))
    assert picture.format == 'PNG' and min(picture.size) >= 16, tag


@pytest.mark.slow
def test_rerunning_resumes_from_the_newest_checkpoint(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  assert trainer.train(config(dataset_dir, tmp_path, max_number_of_steps=3, **SGD))[0] == 3
  weights_at_3 = checkpoint_value(tmp_path, 'alexnet_v2/conv1/weights')
  assert trainer.train(config(dataset_dir, tmp_path, max_number_of_steps=6, **SGD))[0] == 6
  assert int(checkpoint_value(tmp_path, 'global_step')) == 6
  assert len(read_events(tmp_path)['_hparams_/session_start_info']) == 1  # one session
  # Not re-initialised: a fresh start would give weights far from step 3's.
  moved = np.abs(checkpoint_value(tmp_path, 'alexnet_v2/conv1/weights') - weights_at_3).max()
  assert 0 < moved < 0.05
  # Resuming it on another dataset of as many classes would relabel its checkpoints.
  other = str(tmp_path / 'other')
  write_records_dataset(other, per_class=2, num_validation=1,
                        class_names=('cat', 'dog', 'cow', 'hen', 'pig'))
  with pytest.raises(UserError, match=r'was trained on other classes \(daisy in its run.json, '
                     r'cat in this dataset, and 4 more\)'):
    trainer.train(config(other, tmp_path, max_number_of_steps=7, **SGD))


@pytest.mark.slow
def test_fine_tunes_from_a_checkpoint_of_another_class_count(tmp_path):
  dataset_dir = str(tmp_path / 'three')
  write_records_dataset(dataset_dir, per_class=4, num_validation=3,
                        class_names=('a', 'b', 'c'))
  source = str(tmp_path / 'imagenet' / 'model.ckpt')
  save_random_checkpoint(source, num_classes=10, step=0)
  conv2 = tf.train.load_checkpoint(source).get_tensor('alexnet_v2/conv2/weights')

  with pytest.raises(UserError, match='alexnet_v2/fc8/weights with shape'):
    trainer.train(config(dataset_dir, tmp_path / 'wrong', checkpoint_path=source,
                         max_number_of_steps=1))

  # a checkpoint without its data file (a save cut short, a partial copy) is one line
  broken = str(tmp_path / 'broken' / 'model.ckpt')
  save_random_checkpoint(broken, num_classes=3, step=0)
  os.remove(broken + '.data-00000-of-00001')
  with pytest.raises(UserError, match='cannot read checkpoint .*: its data files are missing'):
    trainer.train(config(dataset_dir, tmp_path / 'wrong', checkpoint_path=broken,
                         max_number_of_steps=1))
  # scopes that exclude nothing, or everything, are said to
  for scopes, message in ((['alexnet_v2/fc_8'], 'exclude_scopes=alexnet_v2/fc_8 matches no '
                           'variable'), (['alexnet_v2'], 'excludes every variable')):
    with pytest.raises(UserError, match=message):
      trainer.train(config(dataset_dir, tmp_path / 'wrong', checkpoint_path=source,
                           max_number_of_steps=1, checkpoint_exclude_scopes=scopes))

  cfg = config(dataset_dir, tmp_path / 'run', checkpoint_path=source, max_number_of_steps=1,
               checkpoint_exclude_scopes=['alexnet_v2/fc8'], trainable_scopes=['alexnet_v2/fc8'],
               weight_decay=0.0)
  assert trainer.train(cfg)[0] == 1
  np.testing.assert_allclose(checkpoint_value(tmp_path / 'run', 'alexnet_v2/conv2/weights'),
                             conv2)
  assert checkpoint_value(tmp_path / 'run', 'alexnet_v2/fc8/biases').shape == (3,)


@pytest.mark.slow
def test_batch_norm_variant_runs_its_update_ops(records_dataset, tmp_path):
  dataset_dir, _ = records_dataset
  trainer.train(config(dataset_dir, tmp_path, model_name='alexnet_v2_bn', max_number_of_steps=3,
                       **SGD))
  moving_mean = checkpoint_value(tmp_path, 'alexnet_v2/conv1/BatchNorm/moving_mean')
  assert np.abs(moving_mean).max() > 0  # starts at zeros


def test_two_clones_give_the_loss_of_one_on_the_same_batch():
  with tf.Graph().as_default():
    images = tf.random.stateless_uniform([4, 224, 224, 3], seed=[1, 2], minval=-1, maxval=1)
    labels = tf.constant([0, 1, 2, 3], tf.int64)
    network_fn = nets_factory.get_network_fn('alexnet_v2', 5, is_training=False)
    one = clones.build_clones(network_fn, images, labels, 5, ['/cpu:0'])
    with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(), reuse=True):
      two = clones.build_clones(network_fn, images, labels, 5, ['/cpu:0', '/cpu:0'])
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      loss_one, loss_two, logits_one, logits_two = sess.run(
          [one.cross_entropy, two.cross_entropy, one.logits, two.logits])
  np.testing.assert_allclose(loss_one, loss_two, rtol=1e-5)
  np.testing.assert_allclose(logits_one, logits_two, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_two_cpu_clones_train_one_set_of_weights(records_dataset, tmp_path):
  dataset_dir = records_dataset[0]
  two_clones = dict(num_clones=2, clone_on_cpu=True, **SGD)
  assert trainer.train(config(dataset_dir, tmp_path, max_number_of_steps=1, **two_clones))[0] == 1
  before = checkpoint_value(tmp_path, 'alexnet_v2/fc8/weights')
  assert trainer.train(config(dataset_dir, tmp_path, max_number_of_steps=3, **two_clones))[0] == 3
  after = checkpoint_value(tmp_path, 'alexnet_v2/fc8/weights')
  assert int(checkpoint_value(tmp_path, 'global_step')) == 3
  assert np.all(np.isfinite(after)) and np.abs(after - before).max() > 0
  graph = (tmp_path / 'graph.pbtxt').read_text()
  assert 'clone_1/alexnet_v2/conv1/Conv2D' in graph and 'clone_2/' not in graph


def test_clones_need_gpus_unless_on_cpu():
  assert clones.clone_devices(2, clone_on_cpu=True, num_gpus=0) == ['/cpu:0', '/cpu:0']
  assert clones.clone_devices(2, clone_on_cpu=False, num_gpus=2) == ['/gpu:0', '/gpu:1']
  assert clones.clone_devices(1, clone_on_cpu=False, num_gpus=0) == ['/cpu:0']
  with pytest.raises(UserError, match='only 1 GPU'):
    clones.clone_devices(2, clone_on_cpu=False, num_gpus=1)


def test_precision_needs_the_hardware():
  session.check_precision('bf16', 0, {'avx512f', 'avx512_bf16'})
  session.check_precision('fp16', 1, set())
  with pytest.raises(UserError, match='AVX512-BF16 or AMX'):
    session.check_precision('bf16', 0, {'avx2'})
  with pytest.raises(UserError, match='needs a GPU'):
    session.check_precision('fp16', 0, {'avx512_bf16'})
  rewrites = session.session_config('bf16').graph_options.rewrite_options
  assert rewrites.auto_mixed_precision_onednn_bfloat16 == 1


@pytest.mark.parametrize('gpus, flags, expected', [
    (0, {'avx512f', 'avx512_bf16'}, 'bf16'),
    (0, {'amx_bf16'}, 'bf16'),
    (0, {'avx2'}, 'fp32'),
    (1, {'avx512_bf16'}, 'fp32'),  # fp16 on GPUs only when asked for by name
])
def test_auto_precision_is_bf16_where_the_cpu_runs_it_and_fp32_elsewhere(gpus, flags, expected):
  assert session.resolve_precision('auto', gpus, flags) == expected
  assert session.resolve_precision('fp16', gpus, flags) == 'fp16'


def test_the_start_line_says_the_mixed_precision():
  line = trainer.start_line(config('unused', 'unused', precision='bf16'), _Split(), num_gpus=0)
  assert 'CPU only: no GPU visible (see GPUs in README.md) in bf16 mixed precision' in line, line
  line = trainer.start_line(config('unused', 'unused'), _Split(), num_gpus=0)
  assert 'precision' not in line, line


@pytest.mark.slow
@pytest.mark.skipif(not session.cpu_flags() & set(session.BF16_CPU_FLAGS),
                    reason='this CPU has neither AVX512-BF16 nor AMX')
def test_bf16_training_gives_a_finite_falling_loss(records_dataset, tmp_path):
  _, _, losses = train_recording_losses(config(records_dataset[0], tmp_path, precision='bf16',
                                               **LEARNING))
  assert np.all(np.isfinite(losses))
  assert np.mean(losses[-8:]) < np.mean(losses[:8]) - 0.2












def test_bad_settings_are_one_line_user_errors(records_dataset, tmp_path):
  with pytest.raises(UserError, match='--batch_size must be positive'):
    trainer.train(config(records_dataset[0], tmp_path, batch_size=0))
  with pytest.raises(UserError, match='unknown --optimizer "adamw"'):
    trainer.train(config(records_dataset[0], tmp_path, optimizer='adamw'))
  with pytest.raises(UserError, match='does not exist'):
    trainer.train(config(str(tmp_path / 'nowhere'), tmp_path))
  with pytest.raises(UserError, match='unknown split "test"'):
    trainer.train(config(records_dataset[0], tmp_path / 'run', dataset_split_name='test'))
  a_file = tmp_path / 'a_file'
  a_file.write_text('')
  with pytest.raises(UserError, match='--train_dir=.*a_file is a file, not a folder'):
    trainer.train(config(records_dataset[0], a_file))
  with pytest.raises(UserError, match=r'--train_image_size=300 gives alexnet_v2 a 4x4 map .*'
                                      r'use a size from 195 to 226'):
    trainer.train(config(records_dataset[0], tmp_path / 'run', train_image_size=300))


@pytest.mark.parametrize('setting,message', [
    (dict(save_interval_secs=-1), '--save_interval_secs must be positive'),
    (dict(save_summaries_secs=0), '--save_summaries_secs must be positive'),
    (dict(end_learning_rate=-0.01), '--end_learning_rate must be >= 0'),
    (dict(learning_rate_decay_factor=-0.5), '--learning_rate_decay_factor must be in'),
    (dict(learning_rate_decay_factor=1.5), '--learning_rate_decay_factor must be in'),
    (dict(learning_rate=0.0), '--learning_rate must be positive'),
    (dict(clip_gradient_norm=-1.0), '--clip_gradient_norm must be >= 0'),
    (dict(optimizer_params={'momentum': -0.9}), '--momentum must be in'),
    (dict(optimizer_params={'momentum': 1.5}), '--momentum must be in'),
    (dict(optimizer_params={'opt_epsilon': 0.0}), '--opt_epsilon must be positive'),
    (dict(optimizer_params={'ftrl_learning_rate_power': 0.5}),
     '--ftrl_learning_rate_power must be <= 0'),
    (dict(optimizer_params={'adagrad_initial_accumulator_value': 0.0}),
     '--adagrad_initial_accumulator_value must be positive'),
    (dict(num_epochs_per_decay=float('inf')), '--num_epochs_per_decay must be positive and at'),
    (dict(warmup_epochs=1e30), '--warmup_epochs must be >= 0 and at most'),
    (dict(learning_rate_decay_type='cosine', max_number_of_steps=0),
     'cosine needs --max_number_of_steps'),
])
def test_values_that_make_no_sense_are_refused_before_anything_runs(tmp_path, setting, message):
  with pytest.raises(UserError, match=message):
    trainer.train(config(str(tmp_path / 'unused'), tmp_path / 'run', **setting))
  assert not (tmp_path / 'run').exists()


def test_a_batch_larger_than_the_memory_is_refused_with_the_size_that_fits():
  per_image = resources.bytes_per_image('alexnet_v2', 224, 5)
  assert 4e6 < per_image < 5e7  # ~12 MB: inputs held by the queues, activations, gradients
  resources.check_batch_fits(32, per_image, available=32 * per_image)
  with pytest.raises(UserError, match=r'--batch_size=100000 needs about .* GiB.*use '
                                      r'--batch_size=(\d+) or less') as error:
    resources.check_batch_fits(100000, per_image, available=64 * per_image)
  assert '--batch_size=64 or less' in str(error.value)
  resources.check_batch_fits(10 ** 9, per_image, available=None)  # unknown: not refused


def test_thread_counts_are_capped_by_the_cores():
  assert resources.capped_threads(4, 'num_readers', cores=2) == 4
  assert resources.capped_threads(100000, 'num_readers', cores=2) == resources.thread_cap(2)
  assert resources.thread_cap(2) == 16 and resources.thread_cap(32) == 128


def test_clones_are_placed_one_per_gpu_with_shared_variables_on_the_cpu():
  # Graph construction only: placement is decided here, so no GPU is needed to check it.
  with tf.Graph().as_default() as graph:
    images = tf.zeros([4, 224, 224, 3])
    network_fn = nets_factory.get_network_fn('alexnet_v2', 5, is_training=True)
    clones.build_clones(network_fn, images, tf.zeros([4], tf.int64), 5, ['/gpu:0', '/gpu:1'])
    devices = {op.name: op.device for op in graph.get_operations()}
    names = [v.op.name for v in slim.get_model_variables()]
  assert devices['clone_0/alexnet_v2/conv1/Conv2D'].lower().endswith('gpu:0')
  assert devices['clone_1/alexnet_v2/conv1/Conv2D'].lower().endswith('gpu:1')
  assert devices['alexnet_v2/conv1/weights'].lower().endswith('cpu:0')
  assert names.count('alexnet_v2/conv1/weights') == 1


class _Split:
  num_samples, num_classes, labels_to_names = 100, 5, {}


@pytest.mark.parametrize('settings, expected', [
    (dict(batch_size=120, max_number_of_steps=2), '1 steps per epoch, to step 2 (2.4 epochs)'),
    (dict(batch_size=10, max_number_of_steps=25), '10 steps per epoch, to step 25 (2.5 epochs)'),
    (dict(batch_size=10, max_number_of_steps=25, sync_replicas=True,
          cluster=cluster_roles.resolve('worker', 0, ['p:1'], ['w:1', 'w:2'])),
     '5 steps per epoch, to step 25 (5.0 epochs)'),  # a sync step: both workers' batches
])
def test_the_start_line_counts_epochs_as_the_schedule_does(settings, expected):
  line = trainer.start_line(config('unused', 'unused', **settings), _Split(), num_gpus=0)
  assert expected in line, line


def test_a_worker_that_starts_two_steps_at_one_global_step_logs_it_once(caplog):
  class Session:  # what a sync worker's session answers: the global step moves once for both
    def __init__(self, steps):
      self.steps = iter(steps)

    def run(self, fetches):
      if fetches == 'global_step':
        return next(self.steps)
      return (0.5, {'accuracy': 1.0, 'learning_rate': 0.01}) if isinstance(fetches, list) else 0.5

  caplog.set_level(logging.INFO)
  step_fn = StepFunction({}, 2, 10, 1)
  step_fn.in_cluster = True
  session = Session([1, 1, 1, 2, 2, 3])
  for _ in range(3):
    step_fn(session, 'train_op', 'global_step', {})
  logged = [m.split()[1] for m in caplog.messages if m.startswith('step ')]
  assert logged == ['2/10', '3/10']
