"""How a figure is taken: measure() times whole steps in windows after a warm-up, in a session
that running_session() starts and stops; rows of figures are found and compared by find_row()
and ratio(); log() says on stderr what has been measured."""
import contextlib
import statistics
import sys
import time


def log(message):
  print('[bench %s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def _warm_up(step, warmup_steps, warmup_seconds, clock):
  """Runs step() for at least warmup_steps steps and warmup_seconds; returns the step times."""
  times = []
  warmup_start = clock()
  while len(times) < max(1, warmup_steps) or clock() - warmup_start < warmup_seconds:
    start = clock()
    step()
    times.append(clock() - start)
  return times


def measure(step, items_per_step, warmup_steps, windows, window_seconds, warmup_seconds=None,
            clock=time.perf_counter, cpu_clock=time.process_time):
  """Runs step() for at least warmup_steps steps and warmup_seconds (default: window_seconds),
  then `windows` windows of whole steps lasting about window_seconds each (the step count is set
  from the warm-up's second half). The warm-up is what keeps an input pipeline's start out of
  the figure: the queue pipeline fills its buffers (27 batches) while the first steps train, and
  those steps pay for it.

  Returns images_per_sec (the best window), median_images_per_sec, window_rates,
  cpu_ms_per_image (CPU time of this process, all its threads, per item), cores_used (CPU time
  over wall time: below the core count when other work shares the machine), steps_per_window
  and seconds (timed).
  """
  times = _warm_up(step, warmup_steps,
                   window_seconds if warmup_seconds is None else warmup_seconds, clock)
  recent = times[len(times) // 2:]
  step_seconds = sum(recent) / len(recent)
  steps = max(1, min(100000, int(round(window_seconds / max(step_seconds, 1e-6)))))
  rates, wall, cpu = [], 0.0, 0.0
  for _ in range(max(1, windows)):
    start, cpu_start = clock(), cpu_clock()
    for _ in range(steps):
      step()
    seconds, cpu_seconds = clock() - start, cpu_clock() - cpu_start
    rates.append(items_per_step * steps / max(seconds, 1e-9))
    wall += seconds
    cpu += cpu_seconds
  items = items_per_step * steps * len(rates)
  return {'images_per_sec': max(rates), 'median_images_per_sec': statistics.median(rates),
          'window_rates': [round(r, 2) for r in rates], 'cpu_ms_per_image': 1000.0 * cpu / items,
          'cores_used': cpu / max(wall, 1e-9), 'warmup_steps': len(times),
          'steps_per_window': steps, 'seconds': wall}


@contextlib.contextmanager
def running_session(config):
  """A session with variables and tables initialized and the queue runners started; stops them
  on exit."""
  import tensorflow as tf
  sess = tf.compat.v1.Session(config=config)
  sess.run([tf.compat.v1.global_variables_initializer(),
            tf.compat.v1.local_variables_initializer(), tf.compat.v1.tables_initializer()])
  coord = tf.train.Coordinator()
  threads = tf.compat.v1.train.start_queue_runners(sess, coord)
  try:
    yield sess
  finally:
    coord.request_stop()
    coord.join(threads, stop_grace_period_secs=10, ignore_live_threads=True)
    sess.close()


def find_row(rows, **match):
  """The first row whose values of match's keys are match's; None if there is none."""
  for row in rows or ():
    if all(row.get(k) == v for k, v in match.items()):
      return row
  return None


def ratio(a, b, key='images_per_sec'):
  """a[key] / b[key]; None when either row or figure is missing (or b's is zero)."""
  if a is None or b is None or not b.get(key) or a.get(key) is None:
    return None
  return a[key] / b[key]
