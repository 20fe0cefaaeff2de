"""Steps/s of train_alexnet.py in one process and as 1 ps + 2 workers (sync replicas) on this
machine's loopback, and the bytes each global step moves per worker (the loopback's counters, and
the same count read from the training graph).

  unshare -n sh -c 'ip link set lo up && python -m bench.cluster_traffic --steps=10 -- <flags>'

The cluster's tasks run in a network of their own (training.local_cluster), whose loopback counts
only their traffic (the unshare -n of the command above, as the README's figures were measured,
is no longer needed). The flags are train_alexnet.py's, without --train_dir and
--max_number_of_steps.
"""
import io
import re
import subprocess
import sys
import tempfile

import tensorflow as tf

from nets import nets_factory
from training import cluster as cluster_lib
from training import cluster_roles
from training import local_cluster
from training import trainer

_STEP_LINE = re.compile(r'step (\d+)/\d+ .* ([\d.]+) images/s')


def last_rate(text):
  """The images/s of the last progress line (the rate of its last --log_every_n_steps)."""
  rates = [float(m.group(2)) for m in _STEP_LINE.finditer(text)]
  return rates[-1] if rates else None


def bytes_between_tasks(graph, fetches, default_task):
  """{(sending task, receiving task): bytes} of one run of `fetches`, read from the graph. An op
  runs on the task of the op it is colocated with, else of the resource it uses (a variable's
  reads run beside it), else of its device (default_task when it names none); a tensor crosses
  once to each other task that uses it, as TensorFlow's rendezvous sends it."""
  ops, todo = set(), [f.op if isinstance(f, tf.Tensor) else f for f in fetches]
  while todo:
    op = todo.pop()
    if op not in ops:
      ops.add(op)
      todo.extend([t.op for t in op.inputs] + list(op.control_inputs))
  tasks = {}

  def task(op):
    if op.name not in tasks:
      group = op.colocation_groups()[0].decode()[len('loc:@'):]
      if group != op.name:
        tasks[op.name] = task(graph.get_operation_by_name(group))
      elif op.inputs and op.inputs[0].dtype == tf.resource:
        tasks[op.name] = task(op.inputs[0].op)
      else:
        spec = tf.DeviceSpec.from_string(op.device)
        tasks[op.name] = '/job:%s/task:%d' % (spec.job, spec.task or 0) if spec.job \
            else default_task
    return tasks[op.name]

  sent, counted = {}, set()
  for op in ops:
    for tensor in op.inputs:
      route = task(tensor.op), task(op)
      if route[0] != route[1] and (tensor, route[1]) not in counted and \
          tensor.dtype != tf.resource and tensor.shape.is_fully_defined():
        counted.add((tensor, route[1]))
        sent[route] = sent.get(route, 0) + tensor.shape.num_elements() * tensor.dtype.size
  return sent


def graph_traffic(config, num_classes=5):
  """({(sending task, receiving task): bytes} of one training step of `config`, whose cluster
  is worker 0's, counted in the graph the trainer builds; the bytes of the weights it trains)."""
  size = config.train_image_size or nets_factory.classify_sizes(config.model_name)[0]
  with tf.Graph().as_default() as graph, \
      tf.compat.v1.device(cluster_lib.device_setter(config.cluster)):
    built = trainer.build_train_op(config, tf.zeros([config.batch_size, size, size, 3]),
                                   tf.zeros([config.batch_size], tf.int64), num_classes, 100)
    weights = sum(v.shape.num_elements() * v.dtype.size
                  for v in tf.compat.v1.trainable_variables())
  if built.sync_optimizer:  # built, never run: no warning
    built.sync_optimizer.ready_for_local_init_op.mark_used()
  return bytes_between_tasks(graph, [built.train_op], config.cluster.device), weights


def worker_bytes(sent, worker):
  """(bytes `worker` receives, bytes it sends) in `sent` (graph_traffic's routes)."""
  return (sum(n for (_, to), n in sent.items() if to == worker),
          sum(n for (by, _), n in sent.items() if by == worker))


def network_limits(sent, worker, sent_with_ps, links_gbits=(10, 100), batches=(32, 256),
                   images_per_sec=3000):
  """Lines of figures computed from a step's bytes `sent` (full-duplex links: each direction at
  the link's rate): the shortest step a link allows a worker, and how many workers of
  `images_per_sec` keep the busiest ps task's link full, for each {number of ps tasks: the
  step's bytes sent with them} of sent_with_ps."""
  longest = max(worker_bytes(sent, worker)) * 8 / 1e9  # Gbit, the busier direction
  lines = []
  for link in links_gbits:
    step = longest / link
    lines.append('%d Gbit/s: a step takes at least %.3f s, so at most %s images/s per worker '
                 'at batch %s' % (link, step, ' / '.join('%.0f' % (b / step) for b in batches),
                                  ' / '.join(map(str, batches))))
  lines.append('workers of %d images/s that fill the busiest ps task\'s link:' % images_per_sec)
  lines.append('| batch per worker, link | %s |' % ' | '.join(
      '%d ps' % n for n in sorted(sent_with_ps)))
  lines.append('|---|%s' % ('---|' * len(sent_with_ps)))
  for batch in batches:
    for link in links_gbits:
      cells = []
      for _, routes in sorted(sent_with_ps.items()):
        busiest = max(routes.values()) * 8 / 1e9  # one direction of one ps task, per worker
        cells.append('%.2g' % (link / (busiest * images_per_sec / batch)))
      lines.append('| %d, %d Gbit/s | %s |' % (batch, link, ' | '.join(cells)))
  return lines


def run_cluster(flags, train_dir, steps):
  """(loopback bytes, the chief's last images/s) of 1 ps + 2 workers training to `steps`."""
  out = io.StringIO()
  cluster = local_cluster.LocalCluster(2, 1, local_cluster.DEFAULT_SCRIPT, flags + [
      '--train_dir=%s' % train_dir, '--max_number_of_steps=%d' % steps, '--sync_replicas'],
                                       out=out)
  try:
    cluster.start()
    status = cluster.wait(timeout=1800)
    sent = cluster.loopback_bytes()  # its own network's: from 0, this cluster's traffic alone
  finally:
    cluster.close()
  if status != 0:
    raise SystemExit('the cluster failed:\n' + out.getvalue()[-3000:])
  chief = '\n'.join(line for line in out.getvalue().splitlines()
                    if line.startswith('[worker 0]'))
  return sent, last_rate(chief)


def main(argv):
  """--steps=N: the cluster trains to N and to 2N steps; the difference is N steps' traffic."""
  steps = int(next(a.split('=', 1)[1] for a in argv if a.startswith('--steps=')))
  flags = argv[argv.index('--') + 1:]
  with tempfile.TemporaryDirectory() as folder:
    one = subprocess.run([sys.executable, local_cluster.DEFAULT_SCRIPT,
                          '--train_dir=%s/one' % folder, '--max_number_of_steps=%d' % steps]
                         + flags, capture_output=True, text=True, check=True)
    short, _ = run_cluster(flags, folder + '/short', steps)
    long, rate = run_cluster(flags, folder + '/long', 2 * steps)
  print('one process: %s images/s (its last progress line)' % last_rate(one.stderr))
  print('1 ps + 2 workers, sync: %s images/s (the chief\'s last progress line)' % rate)
  print('loopback bytes of %d global steps: %.1f MB, %.1f MB per step per worker'
        % (steps, (long - short) / 1e6, (long - short) / 1e6 / steps / 2))
  import train_alexnet  # its flags, parsed as the workers parse them
  train_alexnet.FLAGS(['train_alexnet.py', '--train_dir=unused', '--sync_replicas'] + flags)
  worker, routes = '/job:worker/task:0', {}
  for num_ps in (1, 2, 4):
    roles = cluster_roles.resolve('worker', 0, ['ps%d:1' % i for i in range(num_ps)],
                                  ['w0:1', 'w1:1'])
    routes[num_ps], weights = graph_traffic(train_alexnet.config_from_flags(roles))
  to_worker, from_worker = worker_bytes(routes[1], worker)
  print('the training graph\'s count: %.1f MB per step per worker (%.1f MB to it, %.1f MB from '
        'it; the weights: %.1f MB)' % ((to_worker + from_worker) / 1e6, to_worker / 1e6,
                                       from_worker / 1e6, weights / 1e6))
  print('computed from the graph\'s count:\n' + '\n'.join(network_limits(routes[1], worker,
                                                                        routes)))


if __name__ == '__main__':
  main(sys.argv[1:])
