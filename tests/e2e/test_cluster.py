"""Training across machines: roles from flags and TF_CONFIG, variables on the ps tasks by size,
and real clusters of processes on loopback (every process ended by its PID, bounded in time)."""
import contextlib
import functools
import io
import json
import os
import signal
import socket
import threading
import time

import pytest
import tensorflow as tf

import compat
from base import UserError
from bench import cluster_traffic
from support.scripts import ROOT
from support.scripts import assert_one_line_error
from support.scripts import run_script
from support.scripts import start_script
from training import cluster
from training import cluster_roles
from training import local_cluster
from training import private_network
from training import train_config
from training import trainer

PS = ['10.0.0.1:2222', '10.0.0.2:2222']
WORKERS = ['10.0.1.1:2222', '10.0.1.2:2222', '10.0.1.3:2222']


def tf_config(task_type, index, spec=None, **extra):
  return json.dumps(dict({'cluster': spec or {'ps': PS, 'worker': WORKERS},
                          'task': {'type': task_type, 'index': index}}, **extra))


@pytest.mark.parametrize('job,index', [('ps', 0), ('ps', 1), ('worker', 0), ('worker', 2)])
def test_flags_and_tf_config_give_the_same_roles(job, index, monkeypatch):
  from_flags = cluster_roles.resolve(job, index, PS, WORKERS)
  text = tf_config(job, index, environment='cloud')
  assert cluster_roles.resolve(tf_config=text) == from_flags
  assert from_flags.is_chief == (job == 'worker' and index == 0)
  # TensorFlow's own reader of TF_CONFIG sees the same task and cluster
  monkeypatch.setenv('TF_CONFIG', text)
  resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
  assert (resolver.task_type, resolver.task_id) == (job, index)
  assert resolver.cluster_spec().as_dict() == cluster.cluster_spec(from_flags).as_dict()


def test_a_chief_job_is_worker_0_and_flags_win_over_tf_config():
  spec = {'chief': ['c:1'], 'worker': ['w:1', 'w:2'], 'ps': ['p:1'], 'evaluator': ['e:1']}
  chief = cluster_roles.resolve(tf_config=tf_config('chief', 0, spec))
  assert chief.is_chief and chief.worker_hosts == ('c:1', 'w:1', 'w:2')
  assert cluster_roles.resolve(tf_config=tf_config('worker', 1, spec)).task_index == 2
  assert cluster_roles.resolve('worker', 1, ['p:1'], ['a:1', 'b:1'],
                         tf_config=tf_config('chief', 0, spec)).task_index == 1
  assert cluster_roles.resolve(tf_config=None) is None
  assert cluster_roles.resolve(tf_config=' ') is None


@pytest.mark.parametrize('args,message', [
    (dict(tf_config='{"cluster": '), 'TF_CONFIG is not JSON'),
    (dict(tf_config='{"cluster": {"ps": ["p:1"]}}'), 'needs a "cluster" object and a "task"'),
    (dict(tf_config=tf_config('worker', 3)), 'task 3 of job worker does not exist'),
    (dict(tf_config=tf_config('worker', 0, {'ps': 'p:1', 'worker': ['w:1']})),
     'job "ps" must be a list'),
    (dict(tf_config=tf_config('master', 0, {'master': ['m:1'], 'worker': ['w:1']})),
     'job(s) master'),
    (dict(tf_config=tf_config('evaluator', 0, {'evaluator': ['e:1'], 'ps': ['p:1']})),
     'run eval_alexnet.py there'),
    (dict(job_name='worker', ps_hosts=['p:1']), 'missing --worker_hosts'),
    (dict(job_name='chief', ps_hosts=['p:1'], worker_hosts=['w:1']), 'must be ps or worker'),
    (dict(job_name='ps', task_index=1, ps_hosts=['p:1'], worker_hosts=['w:1']),
     'task 1 of job ps does not exist'),
    (dict(job_name='ps', ps_hosts=['p'], worker_hosts=['w:1']), '"p" is not host:port'),
    (dict(job_name='ps', ps_hosts=['p:70000'], worker_hosts=['w:1']),
     '"p:70000" is not host:port (a port from 1 to 65535)'),
    (dict(task_index=3), 'missing --job_name, --ps_hosts, --worker_hosts'),
])
def test_roles_that_cannot_work_are_one_line(args, message):
  with pytest.raises(UserError, match=None) as raised:
    cluster_roles.resolve(**args)
  assert message in str(raised.value) and '\n' not in str(raised.value)


def test_malformed_tf_config_is_one_line_and_exit_2(tmp_path, monkeypatch):
  monkeypatch.setenv('TF_CONFIG', '{"cluster": {"worker": ["a:1"]}, "task": ')
  result = run_script('train_alexnet.py', '--dataset_dir=%s' % tmp_path,
                      '--train_dir=%s' % (tmp_path / 'train'))
  assert_one_line_error(result, 'TF_CONFIG is not JSON')
  assert not (tmp_path / 'train').exists()


def test_variables_go_to_the_ps_tasks_by_size_and_the_net_to_the_worker(tmp_path):
  roles = cluster_roles.resolve('worker', 1, ['p:1', 'p:2'], ['w:1', 'w:2'])
  config = train_config.TrainConfig(dataset_dir='unused', train_dir=str(tmp_path), batch_size=2,
                                    cluster=roles, sync_replicas=True, moving_average_decay=0.99)
  with tf.Graph().as_default() as graph, tf.compat.v1.device(cluster.device_setter(roles)):
    images = tf.zeros([2, 224, 224, 3])
    built = trainer.build_train_op(config, images, tf.zeros([2], tf.int64), 5, 100)
    global_variables = {v.op.name for v in tf.compat.v1.global_variables()}
    weights = {v.op.name: v.shape.num_elements() * 4 for v in tf.compat.v1.trainable_variables()}
  loads = [0, 0]  # the bytes of weights each ps sends and receives per step
  for op in graph.get_operations():
    if op.name in global_variables:  # weights, momentum slots, averages, global step
      spec = tf.DeviceSpec.from_string(op.device)
      assert spec.job == 'ps', (op.name, op.device)
      loads[spec.task] += weights.get(op.name, 0)
    elif op.type in ('Conv2D', 'VarHandleOp'):  # the net, and sync replicas' local step
      assert op.device.startswith('/job:worker/task:1'), (op.name, op.device)
  fc6 = graph.get_operation_by_name('alexnet_v2/fc6/weights')
  fc7 = graph.get_operation_by_name('alexnet_v2/fc7/weights')
  assert fc6.device != fc7.device  # the two largest apart
  # round-robin by count puts every weight on one ps (weights and biases alternate); by size
  # the heavier ps holds fc6 (26M of 46M parameters) and little more
  assert sum(loads) == sum(weights.values())
  assert max(loads) < 1.1 * weights['alexnet_v2/fc6/weights'], loads
  built.sync_optimizer.ready_for_local_init_op.mark_used()  # built, never run: no warning


@pytest.mark.parametrize('sync', [True, False])
def test_each_step_moves_the_weights_once_each_way(sync, tmp_path, monkeypatch):
  """Per step a worker receives each weight once and sends each gradient once (the weight decay
  and the finite-gradient check run beside the weights, on the ps); the graph's count matched
  the loopback's 728 MB before this, so it stands for the network here."""
  roles = cluster_roles.resolve('worker', 0, ['p:1', 'p:2'], ['w:1', 'w:2'])
  config = train_config.TrainConfig(dataset_dir='unused', train_dir=str(tmp_path), batch_size=2,
                                    cluster=roles, weight_decay=0.0005, sync_replicas=sync)
  sent, weights = cluster_traffic.graph_traffic(config)
  to_worker, from_worker = cluster_traffic.worker_bytes(sent, roles.device)
  assert weights > 184e6  # alexnet_v2's 46.2M float32 parameters
  assert weights <= from_worker < weights + 1000, from_worker  # the gradients, some scalars
  assert weights <= to_worker < 1.08 * weights, to_worker  # (+7%: 5 convs' weight decay reads)
  # nothing colocated: the weight decay's sums and the gradient check run on the worker, so each
  # decay term made on the ps comes to it too (the gradients still go back once)
  monkeypatch.setattr(compat.tf.compat.v1, 'colocate_with', lambda _: contextlib.nullcontext())
  to_worker, from_worker = cluster_traffic.worker_bytes(
      cluster_traffic.graph_traffic(config)[0], roles.device)
  assert to_worker > 1.9 * weights, (to_worker, from_worker)


def test_a_ps_started_by_hand_stops_on_ctrl_c(tmp_path):
  ps, worker = local_cluster.free_ports(2)
  process = start_script('train_alexnet.py', '--dataset_dir=%s' % tmp_path,
                         '--train_dir=%s' % tmp_path, '--job_name=ps',
                         '--ps_hosts=127.0.0.1:%d' % ps, '--worker_hosts=127.0.0.1:%d' % worker)
  try:
    for line in process.stdout:  # (its output ends when it exits)
      if 'until 1 worker(s) are done' in line:
        break
    process.send_signal(signal.SIGINT)  # at once: while its session may still be starting
    rest, _ = process.communicate(timeout=30)
  finally:
    process.kill()
  assert process.returncode == 130, rest[-2000:]
  assert 'ps 0 stopped (Ctrl-C) before every worker was done.' in rest


@pytest.mark.parametrize('job', ['ps', 'worker'])
def test_a_port_already_taken_is_one_line_naming_it(tmp_path, job):
  """gRPC's own lines, TensorFlow's "Could not start gRPC server" and its traceback are one line
  and exit 2; worker 1 (not the chief) writes nothing."""
  with socket.socket() as taken:
    taken.bind(('127.0.0.1', 0))
    taken.listen()
    port = taken.getsockname()[1]
    free = local_cluster.free_ports(2)
    ps = ['127.0.0.1:%d' % (port if job == 'ps' else free[0])]
    workers = ['127.0.0.1:%d' % free[1]] + (['127.0.0.1:%d' % port] if job == 'worker' else [])
    result = run_script('train_alexnet.py', '--dataset_dir=%s' % tmp_path,
                        '--train_dir=%s' % (tmp_path / 'train'), '--job_name=%s' % job,
                        '--task=%d' % (1 if job == 'worker' else 0),
                        '--ps_hosts=%s' % ','.join(ps), '--worker_hosts=%s' % ','.join(workers))
  assert_one_line_error(result, '%s cannot listen on port %d (its address 127.0.0.1:%d): the '
                        'port is in use' % ('ps 0 of 1 ps + 1 workers' if job == 'ps' else
                                            'worker 1 of 1 ps + 2 workers', port, port))
  assert not (tmp_path / 'train').exists()


def test_local_cluster_exits_as_a_shell_reports_a_killed_chief():
  assert [local_cluster.shell_status(s) for s in (0, 2, -9, -15)] == [0, 2, 137, 143]


def test_a_lost_ps_ends_the_worker_with_one_line():
  """Closing a session whose ps is gone never returns: the worker exits with one line."""
  roles = cluster_roles.resolve('worker', 1, PS, WORKERS)
  exits = []
  done = threading.Event()
  error = tf.errors.UnavailableError(
      None, None, 'Graph execution error:\nFrom /job:ps/replica:0/task:1:\nSocket closed')

  def step(*args):
    raise error

  wrapped = cluster.exits_when_lost(
      step, lambda e: cluster.lost_message(e, roles, 'runs/a/model.ckpt-26'), delay_secs=0.01,
      exit_fn=lambda message: (exits.append(message), done.set()))
  with pytest.raises(tf.errors.UnavailableError):
    wrapped(None, None, None, {})
  assert done.wait(5)
  assert exits == ['worker 1 of 2 ps + 3 workers lost the connection to ps task 1 '
                   '(10.0.0.2:2222), which holds the variables; restart the job: the chief '
                   'resumes from the newest checkpoint (runs/a/model.ckpt-26)']


@functools.lru_cache(maxsize=None)
def no_private_network():
  """Why this machine cannot give a cluster a network of its own (None when it can)."""
  return private_network.problem()


@contextlib.contextmanager
def running(workers, ps, script, args, timeout):
  """A LocalCluster started (in its own network where this machine can make one); yields
  (cluster, output); every process killed by PID at the end, the network's holder too."""
  out = io.StringIO()
  started = local_cluster.LocalCluster(workers, ps, script, args, out=out,
                                       private=no_private_network() is None)
  try:
    started.start()
    yield started, out
  finally:
    started.close()


def run_cluster(script, args, timeout=120, workers=2, ps=1):
  with running(workers, ps, script, args, timeout) as (started, out):
    status = started.wait(timeout=timeout)
    statuses = {key: p.returncode for key, p in started.processes.items()}
  return status, statuses, out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize('sync', [True, False])
def test_every_worker_gradients_are_applied(sync, tmp_path, monkeypatch):
  """Sync: each of N global steps applies 2 gradients (2N in all); async: one each (N in all);
  in both, both workers' gradients; every task, the ps included, ends with status 0."""
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
  out = tmp_path / 'counts.json'
  steps = 8
  status, statuses, log = run_cluster(
      os.path.join(ROOT, 'tests', 'support', 'cluster_probe.py'),
      (['--sync'] if sync else []) + [str(steps), str(out)])
  assert status == 0 and set(statuses.values()) == {0}, (statuses, log[-3000:])
  counts = json.loads(out.read_text())
  assert counts['global_step'] == steps
  assert sum(counts['applied']) == (2 * steps if sync else steps), counts
  assert min(counts['applied']) > 0, counts


@pytest.mark.slow
def test_sync_training_of_alexnet_on_a_cluster_resumes_in_one_process(records_dataset,
                                                                      tmp_path, monkeypatch):
  """1 ps + 2 workers train train_alexnet.py to step 3 with sync replicas and moving averages;
  the chief's checkpoint restores into the single-process training graph (every variable: the
  weights, their averages, the momentum, the global step), so one process can resume it and
  eval_alexnet.py (the same net and averages) reads it."""
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
  dataset_dir, _ = records_dataset
  train_dir = tmp_path / 'train'
  flags = ['--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=2',
           '--max_number_of_steps=3', '--train_image_size=195', '--num_readers=1',
           '--num_preprocessing_threads=1', '--log_every_n_steps=1',
           '--summarize_histograms=false', '--sync_replicas', '--moving_average_decay=0.99']
  status, statuses, log = run_cluster(os.path.join(ROOT, 'train_alexnet.py'), flags)
  assert status == 0 and set(statuses.values()) == {0}, (statuses, log[-3000:])
  assert 'Worker 1 finished at step 3.' in log and 'Training finished at step 3.' in log
  assert 'Traceback' not in log, log[-3000:]
  newest = tf.train.latest_checkpoint(str(train_dir))
  assert newest.endswith('model.ckpt-3')
  # The same command again, with nothing left to train: every task still ends (the chief starts
  # so that worker 1 and the ps see the job done; it returned at once and they waited forever).
  status, statuses, log = run_cluster(os.path.join(ROOT, 'train_alexnet.py'), flags, timeout=90)
  assert status == 0 and set(statuses.values()) == {0}, (statuses, log[-3000:])
  assert 'Worker 1 finished at step 3.' in log and 'nothing to do (the chief still' in log

  config = train_config.TrainConfig(dataset_dir=dataset_dir, train_dir=str(train_dir), batch_size=2,
                                    train_image_size=195, moving_average_decay=0.99)
  with tf.Graph().as_default():
    images = tf.zeros([2, 195, 195, 3])
    built = trainer.build_train_op(config, images, tf.zeros([2], tf.int64), 5, 20)
    with tf.compat.v1.Session() as sess:
      tf.compat.v1.train.Saver().restore(sess, newest)  # every variable, or it raises
      assert sess.run(built.global_step) == 3



def _wait_for(started, out, found, timeout):
  """Waits until found() is true while the ps runs; fails with the output's end otherwise."""
  give_up = time.time() + timeout
  while not found():
    assert time.time() < give_up and started.processes['ps', 0].poll() is None, \
        out.getvalue()[-3000:]
    time.sleep(0.2)


def listening_ports(pid='self'):
  """The TCP ports in LISTEN state in the network namespace of process pid (IPv4 and IPv6)."""
  ports = set()
  for name in ('tcp', 'tcp6'):
    with open('/proc/%s/net/%s' % (pid, name)) as f:
      next(f)
      for line in f:
        fields = line.split()
        if fields[3] == '0A':  # TCP_LISTEN
          ports.add(int(fields[1].rsplit(':', 1)[1], 16))
  return ports


def test_local_cluster_tasks_listen_only_in_their_own_loopback_network():
  """TensorFlow's servers listen on every interface whatever their address ("*:PORT" in ss):
  local_cluster's tasks do so in a network that holds nothing but a loopback, and this machine's
  network (the test's) has nothing listening on their ports."""
  if no_private_network():
    pytest.skip(no_private_network())
  script = os.path.join(ROOT, 'tests', 'support', 'listening_task.py')
  with running(1, 1, script, [], 120) as (started, out):
    _wait_for(started, out, lambda: out.getvalue().count('listening on port') == 2, 120)
    ports = {key: json.loads(text)['cluster'][key[0]][key[1]] for key, text in
             started.configs.items()}
    ours = listening_ports()
    for key, process in started.processes.items():
      port = int(ports[key].rsplit(':', 1)[1])
      assert port in listening_ports(process.pid), (key, out.getvalue()[-2000:])
      assert private_network.interfaces(process.pid) == ['lo'], key
      assert port not in ours, (key, 'listens on this machine\'s network')
    holder = started.network.process
  assert holder.poll() is not None  # ended with the cluster


@pytest.mark.slow
def test_a_killed_worker_and_a_killed_chief_restart_and_the_job_completes(records_dataset,
                                                                        tmp_path, monkeypatch):
  """kill -9 worker 1 mid-run and start it again: it rejoins and trains; then kill -9 the chief
  after a checkpoint and start it again, it resumes from that checkpoint; the job ends at its last
  step with every task's status 0."""
  monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
  dataset_dir, _ = records_dataset
  train_dir = str(tmp_path / 'train')
  steps = 12
  flags = ['--dataset_dir=%s' % dataset_dir, '--train_dir=%s' % train_dir, '--batch_size=2',
           '--max_number_of_steps=%d' % steps, '--train_image_size=195', '--num_readers=1',
           '--num_preprocessing_threads=1', '--log_every_n_steps=1', '--save_interval_secs=3',
           '--summarize_histograms=false', '--sync_replicas']
  with running(2, 1, os.path.join(ROOT, 'train_alexnet.py'), flags, 240) as (started, out):
    # Worker 1's first line may name any step: the chief alone also moves a sync job on (it
    # holds replicas_to_aggregate tokens at the start), so no particular step is waited for.
    _wait_for(started, out, lambda: '[worker 1] step ' in out.getvalue(), 120)
    started.restart('worker', 1)
    since = len(out.getvalue())
    _wait_for(started, out, lambda: tf.train.latest_checkpoint(train_dir), 60)
    started.restart('worker', 0)
    saved = tf.train.latest_checkpoint(train_dir)  # the chief is gone: nothing newer comes
    status = started.wait(timeout=180)
    statuses = {key: p.returncode for key, p in started.processes.items()}
    log = out.getvalue()
  assert status == 0 and set(statuses.values()) == {0}, (statuses, log[-3000:])
  assert int(saved.rsplit('-', 1)[1]) < steps, log[-3000:]
  assert '[worker 1] step ' in log[since:], log[-3000:]  # the restarted worker 1 trained
  assert 'Resuming from %s' % saved in log, log[-3000:]
  assert tf.train.latest_checkpoint(train_dir).endswith('model.ckpt-%d' % steps)
