"""The memory section: the peak resident memory of training as train_alexnet.py builds it,
measured inside a fresh process so that nothing of this one counts."""
import multiprocessing
import resource

from bench.config import GB
from bench.machine import peak_rss_bytes
from bench.machine import quiet_tensorflow
from bench.timing import log
from bench.training_rate import train_rate


def _memory_child(conn, dataset_dir, batch_size, timing):
  """In a fresh process: trains as train_alexnet.py does and sends its rate and peak RSS."""
  try:
    quiet_tensorflow()
    result = train_rate(dataset_dir, batch_size, source='trainer', timing=timing)
    result['peak_rss_bytes'] = peak_rss_bytes()
    conn.send(result)
  except BaseException as e:  # pylint: disable=broad-except
    conn.send({'error': '%s: %s' % (type(e).__name__, e)})
    raise
  finally:
    conn.close()


def training_peak_memory(dataset_dir, batch_size, timing, timeout=900):
  """Peak RSS (VmHWM) of a subprocess that builds trainer.build_graph at batch_size and trains a
  few steps. Also ru_maxrss of this process's children, only as a cross-check: on Linux a
  child started by fork+exec keeps the high-water mark of the forked copy of this (larger)
  process, so it overstates; VmHWM read inside the child is the figure."""
  context = multiprocessing.get_context('spawn')
  receiver, sender = context.Pipe(duplex=False)
  child = context.Process(target=_memory_child, args=(sender, dataset_dir, batch_size, timing))
  child.start()
  sender.close()
  try:
    if not receiver.poll(timeout):
      raise RuntimeError('the peak-memory subprocess sent nothing in %d s' % timeout)
    result = receiver.recv()
  finally:
    child.join(timeout=60)
    if child.is_alive():
      child.terminate()
      child.join()
  if 'error' in result:
    raise RuntimeError('the peak-memory subprocess failed: %s' % result['error'])
  result['children_ru_maxrss_bytes'] = (
      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
  return result


def run_section(bench):
  """At batch 32 (the targets' batch size), one timed window: the rate there is a by-product."""
  memory = bench.results['memory'] = training_peak_memory(bench.dataset_dir, 32,
                                                          dict(bench.timing, windows=1))
  log('peak RSS of training at batch 32: %.2f GB' % (memory['peak_rss_bytes'] / GB))
