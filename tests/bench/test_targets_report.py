"""The benchmark's targets and report: judged and printed from figures made up in the test."""
import pytest

from bench import report
from bench import targets
from bench import training_rate


def _row(source, precision, rate, cpu_ms, model='alexnet_v2'):
  return {'model': model, 'source': source, 'precision': precision, 'batch_size': 32,
          'images_per_sec': rate, 'cpu_ms_per_image': cpu_ms}


def fake_results():
  training = [
      _row('memory', 'fp32', 20.0, 50.0), _row('pipeline', 'fp32', 19.6, 55.0),
      _row('trainer', 'fp32', 18.0, 60.0),
      _row('memory', 'bf16', 26.0, 40.0), _row('pipeline', 'bf16', 25.0, 40.0),
      # another net's rows judge nothing (the targets are alexnet_v2's)
      _row('memory', 'fp32', 1.0, 1.0, model='alexnet_tv'),
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
      'utilization': [
          {'model': 'alexnet_tv', 'source': 'memory', 'precision': 'fp32', 'batch_size': 32,
           'fraction_of_peak': 0.99},
          {'model': 'alexnet_v2', 'source': 'memory', 'precision': 'fp32', 'batch_size': 32,
           'gflops': 50.0, 'peak_gflops': 100.0, 'fraction_of_peak': 0.5},
          {'model': 'alexnet_v2', 'source': 'memory', 'precision': 'bf16', 'batch_size': 32,
           'gflops': 130.0, 'peak_gflops': 200.0, 'fraction_of_peak': 0.65}],
      'memory': {'peak_rss_bytes': 3.0e9, 'batch_size': 32, 'images_per_sec': 19.0},
  }


def test_targets_say_which_are_met_from_the_figures():
  found = {t['name']: t for t in targets.evaluate(fake_results())}
  expected = {  # name: (figure, met)
      'full pipeline / in-memory training (fp32, batch 32)': (0.98, True),
      'full pipeline / in-memory training (bf16, batch 32)': (25.0 / 26.0, True),
      'trainer.build_graph / in-memory training (fp32, batch 32)': (0.9, False),
      'trainer.build_graph / in-memory training (bf16, batch 32)': (None, None),
      'bf16 / fp32 training (in-memory, batch 32)': (1.3, False),
      'fp32 training / fp32 matmul peak (in-memory, batch 32)': (0.5, False),
      'bf16 training / bf16 matmul peak (in-memory, batch 32)': (0.65, True),
      'converter, all 2 cores / 1 worker': (1.9, True),  # the script row is not counted
      'peak RSS of training at batch 32 (GB)': (3.0, False),
  }
  assert set(found) == set(expected)
  for name, (figure, met) in expected.items():
    assert found[name]['figure'] == pytest.approx(figure), name
    assert found[name]['met'] is met, name


def test_the_targets_carry_issue_23s_goals():
  wanted = {t['name']: t['target'] for t in targets.evaluate(fake_results())}
  assert wanted['fp32 training / fp32 matmul peak (in-memory, batch 32)'] == '>= 0.85'
  assert wanted['bf16 training / bf16 matmul peak (in-memory, batch 32)'] == '>= 0.6'
  for source in ('full pipeline', 'trainer.build_graph'):
    for precision in ('fp32', 'bf16'):
      name = '%s / in-memory training (%s, batch 32)' % (source, precision)
      assert wanted[name] == '>= 0.95', name


def test_targets_estimate_the_ratios_from_cpu_time_per_image():
  found = {t['name']: t['cpu_estimate'] for t in targets.evaluate(fake_results())}
  assert found['full pipeline / in-memory training (fp32, batch 32)'] == pytest.approx(50 / 55)
  assert found['trainer.build_graph / in-memory training (fp32, batch 32)'] == \
      pytest.approx(50 / 60)
  assert found['bf16 / fp32 training (in-memory, batch 32)'] == pytest.approx(50.0 / 40.0)
  assert found['converter, all 2 cores / 1 worker'] == pytest.approx(2 * 1.0 / 1.25)
  assert found['peak RSS of training at batch 32 (GB)'] is None


def test_the_converter_is_not_judged_on_a_conversion_too_short_to_tell():
  results = fake_results()
  results['converter'][0]['seconds'] = 0.1  # --quick: 120 photos
  found = {t['name']: t for t in targets.evaluate(results)}
  assert found['converter, all 2 cores / 1 worker']['met'] is None
  results['converter'][0]['seconds'] = 2.9  # the full run's 3,600
  found = {t['name']: t for t in targets.evaluate(results)}
  assert found['converter, all 2 cores / 1 worker']['met'] is True


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
  rows = [_row('memory', 'fp32', 10.0, 1.0)]
  training_rate.keep_best(rows, dict(rows[0], images_per_sec=12.0))
  training_rate.keep_best(rows, dict(rows[0], images_per_sec=11.0))
  assert len(rows) == 1 and rows[0]['images_per_sec'] == 12.0
  assert rows[0]['round_rates'] == [10.0, 12.0, 11.0]


def test_targets_without_figures_are_not_judged():
  results = {'machine': {'cores': 2, 'mixed_precision': None}}
  assert [t['met'] for t in targets.evaluate(results)] == [None] * len(targets.TARGETS)


def test_report_shows_every_section_it_has():
  results = fake_results()
  results['targets'] = targets.evaluate(results)
  text = report.report(results)
  for title in ('Machine: Test CPU', 'Converter', 'Training', 'Training against the peak',
                'Peak RSS', 'Targets'):
    assert title in text
  assert 'Evaluation' not in text
  training = text[text.index('Training ('):text.index('Training against')]
  assert 'alexnet_tv' in training and 'trainer' in training  # the net column, every row


def test_report_gives_the_flops_of_each_net():
  results = fake_results()
  results['flops'] = {net: {'forward_per_image': 1.0e9, 'training_per_image': 3.0e9,
                            'method': 'profiler', 'forward_per_layer': {'conv1': 1.0e9}}
                      for net in ('alexnet_v2', 'alexnet_tv')}
  results['profiles'] = [{'precision': 'fp32', 'batch_size': 32,
                          'by_layer': [{'name': 'conv1', 'share': 1.0}],
                          'by_type': [{'name': 'Conv2D', 'share': 1.0}]}]
  text = report.report(results)
  assert 'alexnet_tv forward 1.000 G, training 3.000 G' in text
  assert 'Where a training step goes' in text


def test_format_table_marks_missing_values_and_booleans():
  text = report.format_table('T', [('a', 'a', '%.1f'), ('b', 'b', None)],
                          [{'a': 1.25, 'b': True}, {'a': None, 'b': False}])
  lines = text.splitlines()
  assert lines[0] == 'T'
  assert lines[2].split() == ['1.2', 'yes'] and lines[3].split() == ['-', 'no']
