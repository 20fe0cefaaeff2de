"""bench.scale and what it measures with (bench.child_runs, bench.written), on tiny cases: counts
and sizes, never speed."""
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from bench import child_runs
from bench import scale
from bench import written
from summaries import events

MB = 2 ** 20


def python(code):
  return [sys.executable, '-c', code]


# --- child_runs ---------------------------------------------------------------------------------

def test_measured_run_counts_the_console_and_the_peak_memory(tmp_path):
  figures = child_runs.measured_run(python(
      'import sys\n'
      'x = bytearray(b"1") * (200 * 2 ** 20)\n'
      'print("a" * 500)\nprint("b")\nprint("on stderr", file=sys.stderr)\n'), str(tmp_path / 'x'))
  assert figures['exit_code'] == 0 and figures['stopped'] == ''
  assert figures['peak_rss_bytes'] >= 200 * MB
  assert figures['tree_rss_bytes'] >= figures['peak_rss_bytes']
  assert (figures['console_lines'], figures['longest_line']) == (3, 500)
  assert figures['console_bytes'] == 501 + 2 + 10
  assert (tmp_path / 'x.out').read_text().startswith('aaa')


def test_measured_run_reports_the_exit_status(tmp_path):
  figures = child_runs.measured_run(python('raise SystemExit(3)'), str(tmp_path / 'x'))
  assert figures['exit_code'] == 3 and figures['stopped'] == ''


def test_measured_run_stops_a_command_over_its_memory_limit(tmp_path):
  figures = child_runs.measured_run(python(
      'import time\nx = bytearray(b"1") * (300 * 2 ** 20)\ntime.sleep(120)\n'),
      str(tmp_path / 'x'), max_rss_bytes=100 * MB, poll_seconds=0.05)
  assert 'resident memory' in figures['stopped']
  assert figures['exit_code'] == -9


def fake_proc(tmp_path, processes):
  """A /proc of {pid: (command name, parent pid, resident pages)}."""
  for pid, (name, parent, pages) in processes.items():
    folder = tmp_path / str(pid)
    folder.mkdir()
    (folder / 'stat').write_text('%d (%s) S %d 1 1 0 -1\n' % (pid, name, parent))
    (folder / 'statm').write_text('9999 %d 10 1 0 50 0\n' % pages)
  (tmp_path / 'self').mkdir()
  return str(tmp_path)


def test_the_process_tree_holds_every_descendant_and_sums_their_memory(tmp_path):
  proc = fake_proc(tmp_path, {1: ('init', 0, 1), 20: ('python x', 1, 100),
                              21: ('worker (1)', 20, 10), 22: ('w', 21, 1), 30: ('other', 1, 7)})
  assert sorted(child_runs.process_tree(20, proc)) == [20, 21, 22]
  assert child_runs.tree_resident_bytes(20, proc) == 111 * child_runs.PAGE_SIZE
  assert child_runs.resident_bytes(99, proc) == 0


# --- written ------------------------------------------------------------------------------------

def write_events(folder, values):
  writer = events.make_writer(str(folder))
  for step, value in enumerate(values):
    writer.add_summary(tf.compat.v1.Summary(value=[value]), step)
  writer.close()


def test_summary_figures_find_the_largest_image_and_text(tmp_path):
  summary = tf.compat.v1.Summary
  write_events(tmp_path, [
      events.image_summary_value('small', np.zeros((10, 30, 3), np.uint8)),
      events.image_summary_value('tall', np.zeros((70, 20, 3), np.uint8)),
      events.text_summary_value('short', 'x' * 10),
      events.text_summary_value('long', 'é' * 1000),
      summary.Value(tag='eval/accuracy', simple_value=0.5),
      summary.Value(tag='eval/recall/n00000001', simple_value=0.5)])
  figures = written.summary_figures(str(tmp_path))
  assert figures['tags'] == {'image': 2, 'scalar': 2, 'text': 2}
  assert (figures['largest_image_side'], figures['largest_image']) == (70, [70, 20])
  assert figures['largest_image_tag'] == 'tall'
  assert (figures['largest_text_bytes'], figures['largest_text_tag']) == (2000, 'long')
  assert figures['scalar_tags'] == ['eval/accuracy', 'eval/recall/n00000001']


def test_summary_figures_stop_at_a_torn_last_record(tmp_path):
  write_events(tmp_path, [events.text_summary_value('t', 'abc')])
  (path,) = written.event_files(str(tmp_path))
  with open(path, 'ab') as f:
    f.write(b'\x40\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00half a record')
  assert written.summary_figures(str(tmp_path))['largest_text_bytes'] == 3


def test_file_figures_count_the_files_and_the_largest_picture(tmp_path):
  (tmp_path / 'sub').mkdir()
  Image.new('RGB', (30, 50)).save(tmp_path / 'sub' / 'sprite.png')
  Image.new('RGB', (20, 10)).save(tmp_path / 'small.png')
  (tmp_path / 'results.csv').write_bytes(b'x' * 100000)
  figures = written.file_figures(str(tmp_path))
  assert figures['files'] == 3
  assert figures['largest_files'][0] == ('results.csv', 100000)
  assert figures['largest_png'] == ['sub/sprite.png', 50, 30]
  assert written.file_figures(str(tmp_path), recursive=False)['files'] == 2


# --- scale --------------------------------------------------------------------------------------

@pytest.mark.parametrize('classes, expected', [
    (5, (1000, 5000, 1000)), (100, (50, 5000, 1000)), (1000, (5, 5000, 1000)),
    (3000, (2, 6000, 1000))])
def test_each_class_count_gets_its_share_of_the_photos(classes, expected):
  assert scale.dataset_shape(classes, scale.ScaleSettings()) == expected


def test_draw_photos_draws_class_folders_once(tmp_path):
  photos = str(tmp_path / 'photos')
  scale.draw_photos(photos, 3, 2, 16)
  assert sorted(p.name for p in (tmp_path / 'photos').iterdir()) == [
      'n00000000', 'n00000001', 'n00000002']
  picture = Image.open(tmp_path / 'photos' / 'n00000001' / 'n00000001_1.jpg')
  assert picture.size == (16, 16) and picture.format == 'JPEG'
  (tmp_path / 'photos' / 'kept').write_text('')
  scale.draw_photos(photos, 3, 2, 16)
  assert (tmp_path / 'photos' / 'kept').exists()
  scale.draw_photos(photos, 3, 3, 16)  # other photos: drawn again
  assert not (tmp_path / 'photos' / 'kept').exists()
  assert len(list((tmp_path / 'photos' / 'n00000002').iterdir())) == 3


def test_over_bounds_names_each_bound_a_script_exceeds():
  within = {'step': 'evaluate', 'peak_rss_bytes': 2.9e9, 'console_lines': 299,
            'longest_line': 400, 'largest_image_side': 4096, 'largest_text_bytes': 255999}
  assert scale.over_bounds(within) == []
  over = dict(within, peak_rss_bytes=12.8e9, console_lines=2014, largest_text_bytes=4e6)
  assert len(scale.over_bounds(over)) == 3
  assert scale.over_bounds(over)[0] == 'under 3 GB peak RSS (12.80 GB)'
  assert scale.over_bounds(over)[2] == 'text summaries under 256 KB (4000.0 KB)'
  assert scale.over_bounds({'step': 'train', 'largest_image_side': 16268}) == [
      'an image side of at most 2,048 px (16,268 px)']
  assert scale.over_bounds({'step': 'convert', 'console_lines': 5000}) == []


def stand_in_runner(fail_at=None):
  """A runner that writes a training event file with a tall image and records the commands."""
  calls = []

  def runner(command, log_prefix, **limits):
    step = os.path.basename(log_prefix)
    calls.append((step, command, limits))
    if step == 'train':
      train_dir = [a.split('=', 1)[1] for a in command if a.startswith('--train_dir=')][0]
      write_events(train_dir, [events.image_summary_value(
          'predictions/first_of_batch/image', np.zeros((16268, 4, 3), np.uint8))])
    return {'exit_code': 2 if step == fail_at else 0, 'stopped': '', 'seconds': 1.0,
            'cpu_seconds': 1.0, 'peak_rss_bytes': 1e9, 'tree_rss_bytes': 1e9,
            'console_lines': 3, 'longest_line': 10, 'console_bytes': 30}
  return runner, calls


def test_a_class_count_runs_convert_train_and_evaluate_and_reads_what_they_wrote(tmp_path):
  runner, calls = stand_in_runner()
  settings = scale.ScaleSettings(classes=(3,), photos=12, steps=1, batch_size=2, photo_size=8,
                                 max_rss_gb=2.0)
  results = scale.run(settings, str(tmp_path), runner)
  assert [step for step, _, _ in calls] == ['convert', 'train', 'evaluate']
  assert calls[0][2]['max_rss_bytes'] == 2e9
  assert '--num_validation=2' in calls[0][1] and '--max_number_of_steps=1' in calls[1][1]
  assert '--once' in calls[2][1]
  train = results['rows'][1]
  assert (train['largest_image'], train['photos']) == ([16268, 4], 12)
  text = scale.format_report(results)
  assert 'an image side of at most 2,048 px (16,268 px)' in text
  assert '16268x4 predictions/first_of_batch/image' in text
  json.dumps(results)


def test_a_failing_script_ends_its_class_count(tmp_path):
  runner, calls = stand_in_runner(fail_at='train')
  settings = scale.ScaleSettings(classes=(2, 3), photos=10, photo_size=8)
  results = scale.run(settings, str(tmp_path), runner)
  assert [(row['classes'], row['step']) for row in results['rows']] == [
      (2, 'convert'), (2, 'train'), (3, 'convert'), (3, 'train')]
  assert 'exit 2' in scale.format_report(results)


@pytest.mark.parametrize('classes', ['1', 'five', ''])
def test_class_counts_must_be_numbers_of_at_least_two(classes):
  with pytest.raises(SystemExit) as raised:
    scale.parse_args(['--classes=' + classes])
  assert raised.value.code == 2


@pytest.mark.slow
def test_the_scripts_run_at_three_classes_and_report_their_figures(tmp_path):
  output = tmp_path / 'scale.json'
  status = scale.main(['--classes=3', '--photos=12', '--steps=1', '--batch_size=2',
                       '--photo_size=32', '--work_dir=%s' % (tmp_path / 'work'),
                       '--output=%s' % output])
  assert status == 0
  rows = json.loads(output.read_text())['rows']
  assert [(row['step'], row['exit_code']) for row in rows] == [
      ('convert', 0), ('train', 0), ('evaluate', 0)]
  convert, train, evaluate = rows
  assert all(row['peak_rss_bytes'] > 0 and row['console_lines'] > 0 for row in rows)
  assert train['tags']['image'] >= 1 and train['largest_image_side'] > 0
  assert 'eval/accuracy' in evaluate['scalar_tags'] and evaluate['largest_text_bytes'] > 0
  assert any(path.endswith('.tfrecord') for path, _ in convert['largest_files'])
