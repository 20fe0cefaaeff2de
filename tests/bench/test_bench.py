"""The benchmark's pieces, on tiny data and a step or two: structure and arithmetic, never speed."""
import dataclasses
import os

import pytest
import tensorflow as tf

from bench import cluster_traffic
from bench import converter
from bench import evaluation_rate
from bench import input_rate
from bench import limits
from bench import machine
from bench import memory
from bench import report
from bench import run
from bench import targets
from bench import timing
from bench import training_rate
from bench.config import MODES
from bench.config import Bench
from datasets import checks

TINY = dict(warmup_steps=1, windows=1, window_seconds=0.0)


class FakeClock:
  """A clock that only moves when a fake step says so."""

  def __init__(self):
    self.now = 0.0

  def __call__(self):
    return self.now


def stepper(clock, durations):
  durations = iter(durations)

  def step():
    clock.now += next(durations)

  return step


# --- timing -----------------------------------------------------------------------------------

def test_measure_reports_the_best_window_and_the_median():
  clock = FakeClock()
  # Warm-up: 2 steps of 0.5 s (one window_seconds); then windows of 2 steps each.
  step = stepper(clock, [0.5, 0.5] + [0.5, 0.5] + [0.25, 0.25] + [1.0, 1.0])
  result = timing.measure(step, items_per_step=4, warmup_steps=2, windows=3, window_seconds=1.0,
                          clock=clock, cpu_clock=clock)
  assert result['steps_per_window'] == 2
  assert result['window_rates'] == [8.0, 16.0, 4.0]
  assert result['images_per_sec'] == 16.0
  assert result['median_images_per_sec'] == 8.0
  assert result['cpu_ms_per_image'] == pytest.approx(1000.0 * 3.5 / 24)
  assert result['cores_used'] == pytest.approx(1.0)


def test_measure_warms_up_for_at_least_one_window_of_time():
  clock = FakeClock()
  result = timing.measure(stepper(clock, [0.1] * 1000), 1, warmup_steps=1, windows=1,
                          window_seconds=1.0, clock=clock, cpu_clock=clock)
  assert result['warmup_steps'] >= 10
  assert result['steps_per_window'] == 10


def test_measure_warms_up_for_warmup_seconds_when_given():
  # The queue pipeline fills its buffers during the first steps: a longer warm-up than one
  # window keeps that out of the figure.
  clock = FakeClock()
  result = timing.measure(stepper(clock, [0.1] * 1000), 1, warmup_steps=1, windows=1,
                          window_seconds=1.0, warmup_seconds=3.0, clock=clock, cpu_clock=clock)
  assert result['warmup_steps'] >= 30
  assert result['steps_per_window'] == 10


# --- machine ----------------------------------------------------------------------------------

@pytest.mark.parametrize('gpus, flags, expected', [
    (1, {'avx512_bf16'}, 'fp16'), (0, {'avx512_bf16'}, 'bf16'), (0, {'amx_bf16'}, 'bf16'),
    (0, {'avx2'}, None)])
def test_mixed_precision_is_fp16_on_gpus_and_bf16_on_cpus_that_have_it(gpus, flags, expected):
  assert machine.mixed_precision(gpus, flags) == expected


def test_machine_info_names_the_cpu_cores_and_tensorflow():
  info = machine.machine_info()
  assert info['cores'] >= 1
  assert info['tensorflow'] == tf.__version__
  assert isinstance(info['bf16'], bool) and info['cpu']


def test_peak_rss_reads_vm_hwm(tmp_path):
  status = tmp_path / 'status'
  status.write_text('Name:\tpython\nVmPeak:\t 9999 kB\nVmHWM:\t  2048 kB\nVmRSS:\t 1000 kB\n')
  assert machine.peak_rss_bytes(str(status)) == 2048 * 1024


# --- converter --------------------------------------------------------------------------------

def test_make_photos_links_each_drawn_photo_copies_times(tmp_path):
  paths = converter.make_photos(str(tmp_path), 1, copies=3)
  assert len(paths) == 15 and len(set(paths)) == 15
  first = tmp_path / paths[0]
  copy = tmp_path / paths[5]
  assert '_copy1' in paths[5] and copy.read_bytes() == first.read_bytes()


def test_converter_rate_counts_every_converted_photo(tmp_path):
  photos, out = str(tmp_path / 'photos'), str(tmp_path / 'out')
  converter.make_photos(photos, 2)
  row = converter.converter_rate(photos, out, 1, num_validation=3, num_shards=1)
  assert row['images'] == 10 and row['num_workers'] == 1
  assert row['images_per_sec'] > 0 and row['cpu_ms_per_image'] > 0
  assert checks.check_complete(out)[0]


# --- input, training, evaluation --------------------------------------------------------------

@pytest.mark.parametrize('pipeline', ['queue', 'tf_data', 'cached'])
def test_pipeline_rate_measures_each_pipeline(records_dataset, pipeline):
  dataset_dir, _ = records_dataset
  row = input_rate.pipeline_rate(dataset_dir, 2, pipeline, fast_mode=True,
                                     decode_and_crop=True, timing=TINY)
  assert row['pipeline'] == pipeline and row['batch_size'] == 2
  assert row['images_per_sec'] > 0


def test_in_memory_batch_looks_preprocessed():
  with tf.Graph().as_default():
    images, labels = training_rate.in_memory_batch(3, 8, 5, '/cpu:0')
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      images, labels = sess.run([images, labels])
  assert images.shape == (3, 8, 8, 3) and images.min() >= -1.0 and images.max() <= 1.0
  assert labels.shape == (3,) and set(labels) <= set(range(5))


def _variable_names(build):
  with tf.Graph().as_default():
    build()
    return {v.op.name for v in tf.compat.v1.global_variables()}


def test_build_train_op_creates_the_variables_of_trainer_build_graph(records_dataset, tmp_path):
  from training import train_config
  from training import trainer
  dataset_dir, _ = records_dataset
  config = train_config.TrainConfig(dataset_dir=dataset_dir, train_dir=str(tmp_path), batch_size=2)

  def ours():
    dataset = input_rate.get_dataset(dataset_dir)
    images, labels = training_rate.in_memory_batch(2, 224, dataset.num_classes, '/cpu:0')
    training_rate.build_train_op(config, images, labels, dataset.num_classes, dataset.num_samples)

  def theirs():
    trainer.build_graph(config, input_rate.get_dataset(dataset_dir))

  assert _variable_names(ours) - {'in_memory/images', 'in_memory/labels'} == \
      _variable_names(theirs)


@pytest.mark.parametrize('source', training_rate.INPUTS)
def test_train_rate_steps_the_train_op_from_each_source(records_dataset, source):
  dataset_dir, _ = records_dataset
  row = training_rate.train_rate(dataset_dir, 2, source, timing=TINY)
  assert row['source'] == source and row['precision'] == 'fp32' and row['batch_size'] == 2
  assert row['model'] == 'alexnet_v2' and row['images_per_sec'] > 0


def test_train_rate_steps_alexnet_tv_from_memory(records_dataset):
  row = training_rate.train_rate(records_dataset[0], 2, 'memory', model_name='alexnet_tv',
                                 timing=TINY)
  assert row['model'] == 'alexnet_tv' and row['images_per_sec'] > 0


def _fake_bench(tmp_path, batch_sizes, rounds, mixed='bf16'):
  settings = dataclasses.replace(MODES['quick'], batch_sizes=batch_sizes, rounds=rounds)
  return Bench(settings, str(tmp_path), str(tmp_path), {'mixed_precision': mixed}, {})


def test_training_section_measures_both_precisions_every_input_and_alexnet_tv(tmp_path):
  calls = []

  def rate(dataset_dir, batch_size, source, precision, model_name, timing):
    calls.append((model_name, source, precision, batch_size))
    return {'model': model_name, 'source': source, 'precision': precision,
            'batch_size': batch_size, 'images_per_sec': float(len(calls))}

  bench = _fake_bench(tmp_path, (16, 32), rounds=2)
  training_rate.run_section(bench, rate)
  rows = bench.results['training']
  keys = [(r['model'], r['source'], r['precision'], r['batch_size']) for r in rows]
  assert len(keys) == len(set(keys))  # the second round kept the best of each row
  v2 = {k[1:] for k in keys if k[0] == 'alexnet_v2'}
  assert v2 == {(source, precision, batch) for precision in ('fp32', 'bf16')
                for source, batch in [('memory', 16), ('pipeline', 16), ('memory', 32),
                                      ('pipeline', 32), ('trainer', 32)]}
  assert {k for k in keys if k[0] == 'alexnet_tv'} == {
      ('alexnet_tv', 'memory', 'fp32', 32), ('alexnet_tv', 'memory', 'bf16', 32)}
  assert len([c for c in calls if c[3] == 32 and c[0] == 'alexnet_v2']) == 2 * 6  # two rounds
  trainer_bf16 = timing.find_row(rows, source='trainer', precision='bf16')
  assert len(trainer_bf16['round_rates']) == 2
  memory_bf16 = timing.find_row(rows, model='alexnet_v2', source='memory', precision='bf16',
                                batch_size=32)
  assert trainer_bf16['input_ratio'] == pytest.approx(
      trainer_bf16['images_per_sec'] / memory_bf16['images_per_sec'])


def test_train_rate_rejects_an_unknown_source(records_dataset):
  with pytest.raises(ValueError, match='unknown source'):
    training_rate.train_rate(records_dataset[0], 2, 'disk', timing=TINY)


def test_eval_rate_goes_over_the_validation_split_once(records_dataset):
  dataset_dir, splits = records_dataset
  row = evaluation_rate.eval_rate(dataset_dir, 4, 'tf_data')
  assert row['images'] == len(splits['validation'])
  assert row['model'] == 'alexnet_v2' and row['images_per_sec'] > 0


def test_eval_rates_of_alexnet_tv(records_dataset):
  dataset_dir, splits = records_dataset
  row = evaluation_rate.eval_rate(dataset_dir, 4, 'queue', model_name='alexnet_tv')
  assert row['model'] == 'alexnet_tv' and row['images'] == len(splits['validation'])
  row = evaluation_rate.eval_forward_rate(2, TINY, 'alexnet_tv')
  assert row['model'] == 'alexnet_tv' and row['pipeline'] == 'memory'
  assert row['images_per_sec'] > 0


# --- the limit --------------------------------------------------------------------------------

def test_matmul_peak_reports_gflops_of_its_precision():
  peak = limits.matmul_peak('fp32', 64, TINY)
  assert peak['precision'] == 'fp32' and peak['size'] == 64 and peak['gflops'] > 0


def test_training_flops_are_three_forwards_of_alexnet_per_image():
  flops = limits.training_flops_per_image()
  # alexnet_v2 at 224: ~1.465 GFLOP of convolutions per image (2 x multiply-adds).
  assert 1.4e9 < flops['forward_per_image'] < 1.5e9
  assert flops['training_per_image'] == 3 * flops['forward_per_image']
  per_layer = flops['forward_per_layer']
  assert sum(per_layer.values()) == flops['forward_per_image']
  assert max(per_layer, key=per_layer.get) == 'conv2'
  # fc7, a 1x1 conv on 1x1: one multiply-add per weight, and the bias add.
  assert per_layer['fc7'] == 2 * 4096 * 4096 + 4096


def test_training_flops_of_alexnet_tv():
  flops = limits.training_flops_per_image('alexnet_tv')
  # torchvision's AlexNet: 0.71 G multiply-adds per image
  assert 1.40e9 < flops['forward_per_image'] < 1.45e9
  assert flops['forward_per_layer']['fc6'] == 2 * 6 * 6 * 256 * 4096 + 4096


@pytest.mark.parametrize('op_name, layer', [
    ('alexnet_v2/conv1/Conv2D', 'conv1'),
    ('clone_0/gradients/clone_0/alexnet_v2/fc6/Conv2D_grad/Conv2DBackpropFilter', 'fc6'),
    ('Momentum/update_alexnet_v2/fc7/weights/ResourceApplyMomentum', 'fc7'),
    ('alexnet_tv/conv1/Conv2D', 'conv1'),
    ('clone_0/gradients/clone_0/alexnet_tv/fc6/MatMul_grad/MatMul', 'fc6'),
    ('total_loss', 'other'), ('alexnet_v2', 'other')])
def test_layer_of_names_the_layer_of_an_op(op_name, layer):
  assert limits.layer_of(op_name) == layer


def test_step_profile_shares_the_step_among_the_layers(records_dataset):
  profile = limits.step_profile(records_dataset[0], 2, warmup_steps=1)
  layers = {row['name']: row['share'] for row in profile['by_layer']}
  assert {'conv1', 'conv2', 'fc6', 'fc7'} <= set(layers)
  assert 0.95 <= sum(layers.values()) <= 1.0 + 1e-9
  assert profile['op_seconds'] > 0 and profile['by_type']


def test_profile_rows_put_flop_and_time_shares_side_by_side():
  rows = report.profile_rows({'forward_per_layer': {'conv1': 3, 'fc6': 1}},
                             [{'precision': 'fp32', 'by_layer': [{'name': 'fc6', 'share': 0.6},
                                                                 {'name': 'other', 'share': 0.1}]}])
  assert [r['layer'] for r in rows] == ['conv1', 'fc6', 'other']
  assert rows[0]['flops_share'] == 75.0 and rows[0]['fp32'] == 0.0
  assert rows[1]['fp32'] == pytest.approx(60.0)


def test_utilization_divides_by_the_peak_of_the_same_precision_and_the_flops_of_the_net():
  row = dict(model='alexnet_v2', source='memory', batch_size=32, images_per_sec=10.0)
  rows = limits.utilization(
      [dict(row, precision='bf16'), dict(row, precision='fp16'),
       dict(row, precision='bf16', model='alexnet_tv'), dict(row, precision='bf16', model='x')],
      {'alexnet_v2': {'training_per_image': 4e9}, 'alexnet_tv': {'training_per_image': 2e9}},
      [{'precision': 'fp32', 'gflops': 100.0}, {'precision': 'bf16', 'gflops': 200.0}])
  assert rows[0]['gflops'] == 40.0 and rows[0]['fraction_of_peak'] == 0.2
  assert rows[1]['fraction_of_peak'] is None
  assert rows[2]['model'] == 'alexnet_tv' and rows[2]['fraction_of_peak'] == 0.1
  assert len(rows) == 3  # no FLOPs for net x


def test_run_records_a_failing_section_and_runs_the_others(tmp_path):
  ran = []

  def fails(r):
    raise RuntimeError('no such device')

  runners = {
      'converter': lambda r: ran.append('converter'),
      'pipeline': fails,
      'training': lambda r: r.results.update(training=[]) or ran.append('training')}
  settings = dataclasses.replace(MODES['quick'], photos_per_class=1, photo_copies=1)
  results = run.run(str(tmp_path), settings, ('converter', 'pipeline', 'training'),
                    runners=runners)
  assert ran == ['converter', 'training']
  assert results['errors'] == {'pipeline': 'RuntimeError: no such device'}
  assert 'Section pipeline failed: RuntimeError: no such device' in report.report(results)
  assert len(results['targets']) == len(targets.TARGETS)


def test_unknown_sections_are_a_usage_error():
  with pytest.raises(SystemExit):
    run.parse_args(['--sections=training,warp'])


def test_write_json_creates_the_folder(tmp_path):
  path = tmp_path / 'deep' / 'results.json'
  report.write_json(str(path), {'a': 1})
  assert path.read_text().strip().startswith('{')
  assert not [p for p in os.listdir(path.parent) if p.endswith('.tmp')]


@pytest.mark.slow
def test_training_peak_memory_comes_from_a_subprocess(records_dataset):
  peak = memory.training_peak_memory(records_dataset[0], 2, TINY)
  assert peak['peak_rss_bytes'] > 100e6  # TensorFlow and AlexNet alone are more
  assert peak['children_ru_maxrss_bytes'] >= peak['peak_rss_bytes'] * 0.9


def test_network_limits_divide_the_busier_direction_by_the_link():
  """10 Gbit each way per step: a 10 Gbit/s link allows 1 step/s; at 3,000 images/s and batch
  3,000 one worker fills a ps link carrying it all, two fill one carrying half."""
  w, a, b = '/job:worker/task:0', '/job:ps/task:0', '/job:ps/task:1'
  one = {(a, w): 1.25e9, (w, a): 1.0e9}
  two = {(a, w): 0.625e9, (w, a): 0.5e9, (b, w): 0.625e9, (w, b): 0.5e9}
  lines = cluster_traffic.network_limits(one, w, {1: one, 2: two}, links_gbits=(10,),
                                         batches=(3000,), images_per_sec=3000)
  assert lines[0] == ('10 Gbit/s: a step takes at least 1.000 s, so at most 3000 images/s per '
                      'worker at batch 3000')
  assert lines[-1] == '| 3000, 10 Gbit/s | 1 | 2 |'
