"""A cluster of ps and worker processes on this machine, to try training across machines:

  python -m training.local_cluster --workers=2 --ps=1 -- <train_alexnet.py flags>

Starts every task on a free loopback port with the TF_CONFIG Kubernetes' TFJob would give it,
prints their output with the role in front ("[worker 0] ..."), stops them all on Ctrl-C or
SIGTERM (the workers first: the chief saves a checkpoint, as train_alexnet.py does, and the
others stop at once; then the ps tasks), and exits with the chief's status (worker 0) once the
others have ended too. Does not import TensorFlow itself.

The tasks run in a network of their own that has nothing but a loopback interface
(training/private_network.py): TensorFlow's servers listen on every interface whatever their
address, unauthenticated, so on this machine's network anyone who reached their ports could run
graph ops here. Where that network cannot be made (not Linux, user namespaces turned off) the
launcher says so in one line and exits 2; --any_interface runs the tasks on this machine's
network anyway.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from training import private_network

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SCRIPT = os.path.join(ROOT, 'train_alexnet.py')
USAGE = ('usage: python -m training.local_cluster [--workers=N] [--ps=N] [--script=PATH] '
         '[--any_interface] -- <train_alexnet.py flags>')
END_GRACE_SECS = 60   # after the chief: for the other workers to end by themselves
PS_GRACE_SECS = 10    # after the last worker: for the ps tasks to see them done and end
STOP_GRACE_SECS = 60  # after Ctrl-C/SIGTERM: for the workers to save, before SIGKILL


class UsageError(Exception):
  pass


def parse_args(argv):
  """(workers, ps, script, task arguments, any_interface) from local_cluster's argv."""
  options = {'workers': '2', 'ps': '1', 'script': DEFAULT_SCRIPT}
  rest, any_interface = [], False
  for i, arg in enumerate(argv):
    if arg == '--':
      rest = argv[i + 1:]
      break
    if arg == '--any_interface':
      any_interface = True
      continue
    name, sep, value = arg.lstrip('-').partition('=')
    if not arg.startswith('--') or not sep or name not in options:
      raise UsageError('unknown argument "%s"; train_alexnet.py flags go after --' % arg)
    options[name] = value
  counts = {}
  for name in ('workers', 'ps'):
    try:
      counts[name] = int(options[name])
    except ValueError:
      raise UsageError('--%s must be a whole number, got "%s"' % (name, options[name])) from None
    if counts[name] < 1:
      raise UsageError('--%s must be at least 1' % name)
  return counts['workers'], counts['ps'], options['script'], rest, any_interface


def free_ports(count):
  """`count` loopback ports that were free a moment ago."""
  sockets = []
  try:
    for _ in range(count):
      s = socket.socket()
      s.bind(('127.0.0.1', 0))
      sockets.append(s)
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def tf_configs(num_workers, num_ps, ports):
  """{(job, index): TF_CONFIG text}: the cluster on `ports`, each task's own task entry."""
  hosts = ['127.0.0.1:%d' % port for port in ports]
  spec = {'ps': hosts[:num_ps], 'worker': hosts[num_ps:num_ps + num_workers]}
  return {(job, i): json.dumps({'cluster': spec, 'task': {'type': job, 'index': i},
                                'environment': 'cloud'})
          for job, count in (('ps', num_ps), ('worker', num_workers)) for i in range(count)}


def _relay(process, prefix, out, lock):
  for line in process.stdout:
    with lock:
      out.write(prefix + line)
      out.flush()


class LocalCluster:
  """The processes of one cluster (start, wait, stop, close), each ended by its own PID; with
  private (the default), in a network of their own (private_network.Network: loopback only)."""

  def __init__(self, num_workers, num_ps, script, args, out=sys.stdout, private=True):
    self.configs = tf_configs(num_workers, num_ps, free_ports(num_workers + num_ps))
    self.script, self.args, self.out = script, list(args), out
    self.private = private
    self.network = None
    self.processes = {}
    self.stopping = False
    self._relays = {}  # (job, index) -> the thread copying that task's output
    self._lock = threading.Lock()

  def start(self):
    """Starts every task (private: in a new private network; private_network.NetworkError when
    it cannot be made)."""
    if self.private and self.network is None:
      self.network = private_network.Network()
    for job, index in sorted(self.configs):
      self._start_task(job, index)

  def restart(self, job, index):
    """Kills the task (SIGKILL, as a machine failure would) and starts it again with the same
    TF_CONFIG: how a failed TFJob replica comes back."""
    process = self.processes[job, index]
    if process.poll() is None:
      process.kill()
    process.wait()
    self._relays[job, index].join(timeout=5)  # its last lines come before the notice
    self.log('%s %d killed (status %d); starting it again' % (job, index, process.returncode))
    self._start_task(job, index)

  def _start_task(self, job, index):
    env = dict(os.environ, TF_CONFIG=self.configs[job, index])
    command = [sys.executable, '-u', self.script] + self.args
    if self.network is not None:
      command = self.network.command(command)  # the same process, in the private network
    process = subprocess.Popen(
        command, cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    self.processes[job, index] = process
    thread = threading.Thread(target=_relay, daemon=True, args=(
        process, '[%s %d] ' % (job, index), self.out, self._lock))
    thread.start()
    self._relays[job, index] = thread

  def log(self, message):
    with self._lock:
      self.out.write('[local_cluster] %s\n' % message)
      self.out.flush()

  def wait(self, poll_secs=0.2, timeout=None):
    """Waits for the chief, then up to END_GRACE_SECS for the others; a ps that fails first,
    or a chief still running after `timeout` seconds, stops the job. Returns the chief's
    status."""
    chief = self.processes['worker', 0]
    give_up = time.time() + timeout if timeout else None
    while chief.poll() is None:
      if give_up and time.time() > give_up:
        self.log('the chief is still running after %d s; stopping the cluster' % timeout)
        self.stop()
        break
      failed = [key for key, p in self.processes.items() if key[0] == 'ps' and p.poll()]
      if failed and not self.stopping:
        self.log('ps %d exited with status %d; stopping the cluster'
                 % (failed[0][1], self.processes[failed[0]].returncode))
        self.stop()
        break
      time.sleep(poll_secs)
    deadline = time.time() + END_GRACE_SECS
    workers = [p for (job, _), p in self.processes.items() if job == 'worker']
    while time.time() < deadline and any(p.poll() is None for p in workers):
      time.sleep(poll_secs)
    deadline = min(deadline, time.time() + PS_GRACE_SECS)  # they stop when the workers did
    while time.time() < deadline and any(p.poll() is None for p in self.processes.values()):
      time.sleep(poll_secs)
    self.kill()
    return chief.wait()

  def stop(self, grace_secs=STOP_GRACE_SECS):
    """SIGTERM to the workers (the chief saves a checkpoint, which needs the ps), then to
    the ps tasks still running; SIGKILL to any task left after grace_secs."""
    if self.stopping:
      return
    self.stopping = True
    deadline = time.time() + grace_secs
    for job in ('worker', 'ps'):
      tasks = [p for (name, _), p in self.processes.items() if name == job and p.poll() is None]
      for process in tasks:
        process.send_signal(signal.SIGTERM)
      while time.time() < deadline and any(p.poll() is None for p in tasks):
        time.sleep(0.2)
    self.kill()

  def kill(self):
    for (job, index), process in self.processes.items():
      if process.poll() is None:
        self.log('%s %d still running; killing it' % (job, index))
        process.kill()
      process.wait()
    for thread in self._relays.values():
      thread.join(timeout=5)

  def loopback_bytes(self):
    """Bytes sent over the private network's loopback so far: this cluster's traffic alone."""
    return private_network.loopback_bytes(self.network.pid)

  def close(self):
    """Kills the tasks still running, then ends the private network's holder."""
    self.kill()
    if self.network is not None:
      self.network.close()


def main(argv):
  try:
    num_workers, num_ps, script, args, any_interface = parse_args(argv)
  except UsageError as e:
    print('error: %s\n%s' % (e, USAGE), file=sys.stderr)
    return 2
  cluster = LocalCluster(num_workers, num_ps, script, args, private=not any_interface)
  stopping = []

  def on_signal(signum, frame):
    del frame
    if not stopping:
      stopping.append(signum)
      cluster.log('received %s: stopping every task' % signal.Signals(signum).name)
      threading.Thread(target=cluster.stop, daemon=True).start()

  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, on_signal)
  try:
    cluster.start()
  except private_network.NetworkError as e:
    print('error: cannot give the tasks a network of their own (%s): TensorFlow\'s servers would '
          'listen on every interface of this machine, unauthenticated; --any_interface runs them '
          'so anyway, on a network you trust' % e, file=sys.stderr)
    cluster.close()
    return 2
  try:
    cluster.log('%d ps + %d worker(s) %s: %s' % (
        num_ps, num_workers, 'on every interface (--any_interface)' if any_interface else
        'in a network of their own, loopback only', ', '.join(
            '%s %d pid %d' % (job, i, p.pid) for (job, i), p in sorted(cluster.processes.items()))))
    status = cluster.wait()
  finally:
    cluster.close()
  cluster.log('chief (worker 0) exited with status %d' % status)
  return shell_status(status)


def shell_status(returncode):
  """A Popen returncode as a shell reports it: killed by signal N (-N) is 128 + N."""
  return 128 - returncode if returncode < 0 else returncode


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
