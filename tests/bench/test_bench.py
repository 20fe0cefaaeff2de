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
  assert row['images_per_sec'] > 0


def test_train_rate_rejects_an_unknown_source(records_dataset):
  with pytest.raises(ValueError, match='unknown source'):
    training_rate.train_rate(records_dataset[0], 2, 'disk', timing=TINY)


def test_eval_rate_goes_over_the_validation_split_once(records_dataset):
  dataset_dir, splits = records_dataset
  row = evaluation_rate.eval_rate(dataset_dir, 4, 'tf_data')
  assert row['images'] == len(splits['validation'])
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


@pytest.mark.parametrize('op_name, layer', [
    ('alexnet_v2/conv1/Conv2D', 'conv1'),
    ('clone_0/gradients/clone_0/alexnet_v2/fc6/Conv2D_grad/Conv2DBackpropFilter', 'fc6'),
    ('Momentum/update_alexnet_v2/fc7/weights/ResourceApplyMomentum', 'fc7'),
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


def test_utilization_divides_by_the_peak_of_the_same_precision():
  rows = limits.utilization(
      [{'source': 'memory', 'precision': 'bf16', 'batch_size': 32, 'images_per_sec': 10.0},
       {'source': 'memory', 'precision': 'fp16', 'batch_size': 32, 'images_per_sec': 10.0}],
      {'training_per_image': 4e9},
      [{'precision': 'fp32', 'gflops': 100.0}, {'precision': 'bf16', 'gflops': 200.0}])
  assert rows[0]['gflops'] == 40.0 and rows[0]['fraction_of_peak'] == 0.2
  assert rows[1]['fraction_of_peak'] is None


# --- targets and report -----------------------------------------------------------------------

def fake_results():
  training = [
      {'source': 'memory', 'precision': 'fp32', 'batch_size': 32, 'images_per_sec': 20.0,
       'cpu_ms_per_image': 50.0},
      {'source': 'pipeline', 'precision': 'fp32', 'batch_size': 32, 'images_per_sec': 19.6,
       'cpu_ms_per_image': 55.0},
      {'source': 'memory', 'precision': 'bf16', 'batch_size': 32, 'images_per_sec': 26.0,
       'cpu_ms_per_image': 40.0},
  ]
  return {
      'command': 'python -m bench.run', 'mode': 'full', 'load_before': [1.0, 1.0, 1.0],
      'load_after': [2.0, 1.0, 1.0],
      'machine': {'cpu': 'Test CPU', 'cores': 2, 'bf16': True, 'gpus': [],
                  'mixed_precision': 'bf16', 'tensorflow': '2.21.0'},
      'converter': [{'how': 'convert_photos', 'num_workers': 1, 'images': 100,
                     'images_per_sec': 100.0, 'cpu_ms_per_image': 1.0},
                    {'how': 'convert_photos', 'num_workers': 2, 'images': 100,
                     'images_per_sec': 190.0, 'cpu_ms_per_image': 1.25},
                    {'how': 'script', 'num_workers': 2, 'images': 100, 'images_per_sec': 10.0}],
      'training': training_rate.with_input_ratios(training),
      'utilization': [{'source': 'memory', 'precision': 'fp32', 'batch_size': 32,
                       'gflops': 50.0, 'peak_gflops': 100.0, 'fraction_of_peak': 0.5}],
      'memory': {'peak_rss_bytes': 3.0e9, 'batch_size': 32, 'images_per_sec': 19.0},
  }


def test_targets_say_which_are_met_from_the_figures():
  found = {t['name'].split(' (')[0].split(',')[0]: t for t in targets.evaluate(fake_results())}
  assert found['full pipeline / in-memory training']['figure'] == pytest.approx(0.98)
  assert found['full pipeline / in-memory training']['met'] is True
  assert found['bf16 / fp32 training']['figure'] == pytest.approx(1.3)
  assert found['bf16 / fp32 training']['met'] is False
  assert found['fp32 training / fp32 matmul peak']['met'] is False
  assert found['converter']['figure'] == pytest.approx(1.9)  # the script row is not counted
  assert found['converter']['met'] is True
  assert found['peak RSS of training at batch 32']['met'] is False


def test_targets_estimate_the_ratios_from_cpu_time_per_image():
  found = {t['name'].split(' (')[0].split(',')[0]: t['cpu_estimate']
           for t in targets.evaluate(fake_results())}
  assert found['full pipeline / in-memory training'] == pytest.approx(50.0 / 55.0)
  assert found['bf16 / fp32 training'] == pytest.approx(50.0 / 40.0)
  assert found['converter'] == pytest.approx(2 * 1.0 / 1.25)
  assert found['peak RSS of training at batch 32'] is None


def _figure(value):
  return lambda results, batch_size: (value, None)


def test_a_target_fails_when_its_figure_misses_the_threshold():
  table = [targets.Target('at least', _figure(0.59), '>=', 0.6, 'test'),
           targets.Target('at least, reached', _figure(0.6), '>=', 0.6, 'test'),
           targets.Target('at most', _figure(2.51), '<=', 2.5, 'test'),
           targets.Target('at most, reached', _figure(2.5), '<=', 2.5, 'test'),
           targets.Target('not measured', _figure(None), '>=', 1.0, 'test')]
  rows = targets.evaluate({}, table=table)
  assert [r['met'] for r in rows] == [False, True, False, True, None]
  assert rows[0]['target'] == '>= 0.6' and rows[0]['figure'] == 0.59
  assert rows[2]['target'] == '<= 2.5'


@pytest.mark.parametrize('target', targets.TARGETS, ids=lambda t: t.compared.__name__)
def test_each_target_fails_just_past_its_threshold_and_names_its_source(target):
  miss = target.threshold * (0.99 if target.op == '>=' else 1.01)
  [row] = targets.evaluate(fake_results(), table=[target._replace(compared=_figure(miss))])
  assert row['met'] is False
  [row] = targets.evaluate(fake_results(),
                           table=[target._replace(compared=_figure(target.threshold))])
  assert row['met'] is True
  assert target.source


def test_keep_best_keeps_the_faster_round_and_lists_every_round():
  rows = [{'source': 'memory', 'precision': 'fp32', 'batch_size': 32, 'images_per_sec': 10.0}]
  training_rate.keep_best(rows, dict(rows[0], images_per_sec=12.0))
  training_rate.keep_best(rows, dict(rows[0], images_per_sec=11.0))
  assert len(rows) == 1 and rows[0]['images_per_sec'] == 12.0
  assert rows[0]['round_rates'] == [10.0, 12.0, 11.0]


def test_targets_without_figures_are_not_judged():
  results = {'machine': {'cores': 2, 'mixed_precision': None}}
  assert [t['met'] for t in targets.evaluate(results)] == [None] * 5


def test_report_shows_every_section_it_has():
  results = fake_results()
  results['targets'] = targets.evaluate(results)
  text = report.report(results)
  for title in ('Machine: Test CPU', 'Converter', 'Training', 'Training against the peak',
                'Peak RSS', 'Targets'):
    assert title in text
  assert 'Evaluation' not in text


def test_format_table_marks_missing_values_and_booleans():
  text = report.format_table('T', [('a', 'a', '%.1f'), ('b', 'b', None)],
                          [{'a': 1.25, 'b': True}, {'a': None, 'b': False}])
  lines = text.splitlines()
  assert lines[0] == 'T'
  assert lines[2].split() == ['1.2', 'yes'] and lines[3].split() == ['-', 'no']


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
  assert len(results['targets']) == 5


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
