"""base: the user error, durations, progress lines, atomic writes, folder checks."""
import os

import pytest

import base


class FakeClock:

  def __init__(self):
    self.now = 100.0

  def __call__(self):
    return self.now


def test_format_duration_has_days_past_24_hours():
  assert base.format_duration(3725) == '1:02:05'
  assert base.format_duration(90000) == '1 day, 1:00:00'
  assert base.format_duration(-5) == '0:00:00'


def test_progress_line_has_count_percent_rate_and_eta():
  clock = FakeClock()
  progress = base.Progress(total=100, clock=clock)
  clock.now += 4.0
  progress.advance(40)
  assert progress.line() == '40/100 images (40%), 10.0 images/s, ETA 0:00:06'


def test_progress_rate_is_measured_over_the_current_lap():
  clock = FakeClock()
  progress = base.Progress(total=1000, done=500, clock=clock)  # resumed half-way
  clock.now += 10.0
  progress.advance(100)
  assert progress.rate() == 10.0
  progress.lap()
  clock.now += 1.0
  progress.advance(50)
  assert progress.rate() == 50.0
  assert progress.eta() == pytest.approx(350 / 50.0)


def test_progress_without_total_has_no_eta():
  clock = FakeClock()
  progress = base.Progress(clock=clock)
  clock.now += 2.0
  progress.advance(5)
  assert progress.eta() is None
  assert progress.rate_and_eta('steps') == '2.5 steps/s'
  assert progress.line('steps') == '5 steps, 2.5 steps/s'


def test_progress_is_due_at_most_once_per_interval():
  clock = FakeClock()
  progress = base.Progress(total=10, clock=clock)
  assert not progress.due(2.0)
  clock.now += 2.5
  assert progress.due(2.0)
  assert not progress.due(2.0)


def test_atomic_write_leaves_no_file_when_the_block_fails(tmp_path):
  target = tmp_path / 'out.txt'
  with pytest.raises(RuntimeError):
    with base.atomic_path(str(target)) as tmp:
      with open(tmp, 'w') as f:
        f.write('half')
      raise RuntimeError('disk gone')
  assert os.listdir(tmp_path) == []
  base.write_text_atomic(str(target), 'whole\n')
  assert target.read_text() == 'whole\n' and os.listdir(tmp_path) == ['out.txt']


def test_a_file_given_as_folder_is_a_user_error(tmp_path):
  path = tmp_path / 'file'
  path.write_text('x')
  with pytest.raises(base.UserError, match='is a file, not a folder'):
    base.check_folder_path(str(path), 'train_dir')
  base.check_folder_path(str(tmp_path / 'missing'), 'train_dir')


def test_paths_with_glob_characters_are_refused():
  for path in ('runs/run[12]', 'data/ds*', 'a?b'):
    with pytest.raises(base.UserError, match='glob characters'):
      base.check_no_glob_characters(path, 'train_dir')
  base.check_no_glob_characters('runs/run-12_(copy) v2', 'train_dir')
  base.check_no_glob_characters(None, 'train_dir')


def test_a_folder_lock_refuses_a_second_holder_and_names_the_first(tmp_path):
  with base.folder_lock(str(tmp_path), '.train.lock', 'training'):
    with pytest.raises(base.UserError, match=r'in use by training, PID %d' % os.getpid()):
      with base.folder_lock(str(tmp_path), '.train.lock', 'training'):
        pass
  with base.folder_lock(str(tmp_path), '.train.lock', 'training'):  # released: free again
    pass


def test_a_lock_file_left_by_a_killed_process_is_taken_over(tmp_path):
  import signal
  import subprocess
  import sys
  code = ('import base, os, sys, time\n'
          'with base.folder_lock(sys.argv[1], ".train.lock", "training"):\n'
          '  print("locked", flush=True); time.sleep(60)\n')
  holder = subprocess.Popen([sys.executable, '-c', code, str(tmp_path)], cwd=os.path.dirname(
      os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), stdout=subprocess.PIPE,
      text=True)
  try:
    assert holder.stdout.readline().strip() == 'locked'
    with pytest.raises(base.UserError, match='PID %d' % holder.pid):
      with base.folder_lock(str(tmp_path), '.train.lock', 'training'):
        pass
  finally:
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
  with base.folder_lock(str(tmp_path), '.train.lock', 'training'):
    assert 'PID %d' % os.getpid() in (tmp_path / '.train.lock').read_text()


def test_first_line_is_the_message_s_first_line_or_the_error_s_type():
  assert base.first_line(ValueError('\n  bad value  \nTraceback: ...')) == 'bad value'
  assert base.first_line(ValueError('a long line'), longest=6) == 'a long'
  assert base.first_line(EOFError()) == 'EOFError'


def test_class_names_are_in_id_order_with_ids_for_classes_without_a_name():
  assert base.class_names({1: 'roses', 0: 'daisy'}, 2) == ['daisy', 'roses']
  assert base.class_names({0: 'daisy'}, 3) == ['daisy', 1, 2]
  assert base.class_names(['daisy', 'roses', 'tulips'], 2) == ['daisy', 'roses']
  assert base.class_names(['daisy'], 2) == ['daisy', 1]


def test_worst_and_best_lists_few_items_whole_and_summarises_many():
  assert base.worst_and_best([3, 1, 2], key=lambda v: v, limit=5) == ([3, 1, 2], [], 0)
  worst, best, left_out = base.worst_and_best(list(range(100, 0, -1)), key=lambda v: v, limit=6)
  assert (worst, best, left_out) == ([1, 2, 3], [100, 99, 98], 94)
  # ties: the earlier item first, whatever the order of the rest
  worst, best, _ = base.worst_and_best([0.5, 0.5, 0.5, 0.5], key=lambda v: v, limit=2)
  assert worst == [0.5] and best == [0.5]
