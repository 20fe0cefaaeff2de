"""Starts the real TensorBoard on a free local port for tests, and reads its HTTP API.

  with tb_server.tensorboard(logdir) as tb:
    tb.wait_for(lambda: 'eval' in tb.get_json('/data/plugin/projector/runs'))
    tb.wait_for(lambda: 'loss' in tb.tags('scalars').get('train', []))  # {run: [tags]}
    tags = tb.tags('images')                            # {run: [tags]}
    png = tb.get_bytes('/data/plugin/projector/sprite_image', run='eval', name='embedding')
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


class TensorBoard:
  """A running TensorBoard: base_url, get_bytes, get_json, wait_for."""

  def __init__(self, process, base_url, log_path):
    self.process = process
    self.base_url = base_url
    self.log_path = log_path

  def get_bytes(self, path, timeout=10, **params):
    url = self.base_url + path
    if params:
      url += '?' + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=timeout) as response:
      return response.read()

  def get_json(self, path, **params):
    return json.loads(self.get_bytes(path, **params).decode('utf-8'))

  def wait_for(self, predicate, timeout=60, interval=0.5):
    """Calls predicate() until it returns a true value (which is returned); HTTP errors count
    as not yet. Raises AssertionError with TensorBoard's log after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
      try:
        value = predicate()
        if value:
          return value
      except (urllib.error.URLError, ConnectionError, OSError, ValueError):
        pass
      if self.process.poll() is not None:
        raise AssertionError('TensorBoard exited with code %s:\n%s'
                             % (self.process.returncode, self.log()))
      if time.monotonic() > deadline:
        raise AssertionError('TensorBoard: condition not met in %ss:\n%s' % (timeout, self.log()))
      time.sleep(interval)

  def hparams(self, route, request):
    """A route of the HParams plugin (experiment, session_groups) with its JSON request."""
    return self.get_json('/data/plugin/hparams/' + route, request=json.dumps(request))

  def tags(self, plugin):
    """{run: sorted tags} of a plugin's /tags route, e.g. tags('scalars'), tags('images')."""
    listing = self.get_json('/data/plugin/%s/tags' % plugin)
    return {run: sorted(tags) for run, tags in listing.items()}

  def log(self):
    try:
      with open(self.log_path, encoding='utf-8', errors='replace') as f:
        return f.read()[-4000:]
    except OSError:
      return ''


@contextlib.contextmanager
def tensorboard(logdir, timeout=60, reload_interval=1):
  """Runs `python -m tensorboard.main` on logdir (127.0.0.1, a free port) until the block ends.

  Waits (at most `timeout` s) until it answers /data/runs; the process is stopped at the end. Its
  output goes to a temporary log (tb.log()), shown when wait_for fails, removed at the end.
  """
  port = free_port()
  fd, log_path = tempfile.mkstemp(prefix='tensorboard-%d-' % port, suffix='.log')
  os.close(fd)
  command = [sys.executable, '-m', 'tensorboard.main', '--logdir', str(logdir),
             '--host', '127.0.0.1', '--port', str(port), '--load_fast', 'false',
             '--reload_interval', str(reload_interval)]
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', CUDA_VISIBLE_DEVICES='')
  with open(log_path, 'wb') as log:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
  server = TensorBoard(process, 'http://127.0.0.1:%d' % port, log_path)
  try:
    server.wait_for(lambda: server.get_json('/data/runs') is not None, timeout=timeout)
    yield server
  finally:
    process.terminate()
    try:
      process.wait(timeout=10)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()
    os.remove(log_path)
