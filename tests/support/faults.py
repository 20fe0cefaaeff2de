"""What the fault-injection tests share: damaging shards, tiny checkpoints, scripts in the
background, small file systems."""
import contextlib
import glob
import os
import re
import shutil
import struct
import subprocess
import threading
import time

import pytest
import tensorflow as tf

from rundir import checkpoints
from support.scripts import start_script

# --- damaged shards ---------------------------------------------------------------------------

def flip_payload_byte(path, record=0):
  """Flips one byte in the middle of a record's payload (its length and CRCs stay intact).

  A TFRecord is: uint64 length, uint32 length CRC, payload, uint32 payload CRC.
  """
  with open(path, 'r+b') as f:
    data = bytearray(f.read())
    offset = 0
    for _ in range(record):
      offset += 8 + 4 + struct.unpack('<Q', data[offset:offset + 8])[0] + 4
    length = struct.unpack('<Q', data[offset:offset + 8])[0]
    data[offset + 12 + length // 2] ^= 0xFF
    f.seek(0)
    f.write(data)


def truncate(path, num_bytes=100):
  """Cuts the last num_bytes off a file, as a copy that stopped early would."""
  with open(path, 'r+b') as f:
    f.truncate(os.path.getsize(path) - num_bytes)


DAMAGES = {'flipped byte': flip_payload_byte, 'truncated': truncate}


def damaged_copy(source_dir, target_dir, split, damage):
  """Copies a dataset folder and damages its split's shard 1; returns (folder, shard name)."""
  shutil.copytree(source_dir, target_dir)
  shard = sorted(glob.glob(os.path.join(target_dir, 'flowers_%s_*.tfrecord' % split)))[1]
  DAMAGES[damage](shard)
  return str(target_dir), os.path.basename(shard)


# --- checkpoints ------------------------------------------------------------------------------

def write_tiny_checkpoints(train_dir, steps, scope='tiny'):
  """Checkpoints model.ckpt-<step> of a small graph (global_step and scope/w) in train_dir, as
  training's Saver writes them (state file included); returns their prefixes."""
  os.makedirs(str(train_dir), exist_ok=True)
  prefixes = []
  with tf.Graph().as_default():
    global_step = tf.compat.v1.train.get_or_create_global_step()
    tf.compat.v1.get_variable(scope + '/w', [3], initializer=tf.compat.v1.ones_initializer())
    step = tf.compat.v1.placeholder(tf.int64, [])
    set_step = tf.compat.v1.assign(global_step, step)
    saver = tf.compat.v1.train.Saver(max_to_keep=None)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for value in steps:
        sess.run(set_step, {step: value})
        prefixes.append(saver.save(sess, os.path.join(str(train_dir), 'model.ckpt'),
                                   global_step=value))
  return prefixes


def read_every_tensor(prefix):
  """Reads every tensor of a checkpoint (checking their CRCs); returns the global step."""
  reader = tf.train.load_checkpoint(prefix)
  for name in reader.get_variable_to_shape_map():
    reader.get_tensor(name)
  return int(reader.get_tensor('global_step'))


def step_in_name(prefix):
  return int(re.search(r'-(\d+)$', prefix).group(1))


# --- scripts in the background ----------------------------------------------------------------

class Running(object):
  """A script started in the background; a thread collects its output (stdout and stderr)."""

  def __init__(self, script, *args):
    self.process = start_script(script, *args)
    self._lines = []
    self._reader = threading.Thread(target=self._read, daemon=True)
    self._reader.start()

  def _read(self):
    for line in self.process.stdout:
      self._lines.append(line)

  @property
  def output(self):
    return ''.join(self._lines)

  def wait_for(self, pattern, timeout=180):
    """The first match of the regular expression in the output so far, waiting for it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
      match = re.search(pattern, self.output)
      if match:
        return match
      assert self.process.poll() is None, 'exited %s before %r:\n%s' % (
          self.process.returncode, pattern, self.output[-3000:])
      time.sleep(0.05)
    raise AssertionError('no %r within %d s:\n%s' % (pattern, timeout, self.output[-3000:]))

  def finish(self, timeout=180):
    """Waits for the exit; returns the exit status (negative: the signal that killed it)."""
    self.process.wait(timeout=timeout)
    self._reader.join(timeout=10)
    return self.process.returncode


def wait_for_file(pattern, timeout, newer_than=0.0, process=None):
  """The first path matching the glob pattern, modified after `newer_than`, waiting for it."""
  deadline = time.time() + timeout
  while time.time() < deadline:
    for path in glob.glob(pattern):
      try:
        if os.path.getmtime(path) >= newer_than:
          return path
      except OSError:
        continue  # Gone between the listing and the look.
    if process is not None and process.poll() is not None:
      return None
    time.sleep(0.01)
  return None


def assert_last_line_error(result, *fragments, status=2):
  """Exit status `status` and a last stderr line 'error: ...' naming the fragments, no traceback
  (for errors that come after the script has logged its progress)."""
  assert result.returncode == status, (result.returncode, result.stderr[-3000:])
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('error: '), result.stderr[-3000:]
  for fragment in fragments:
    assert fragment in last, (fragment, last)


# --- file systems -----------------------------------------------------------------------------

@contextlib.contextmanager
def tmpfs(path, size, read_only=False):
  """A tmpfs of `size` ('1m', '260m') mounted at `path` (made if needed) for the block: a disk
  that fills up, or a read-only one. Skips the test, with the reason, where mounting is not
  allowed (not root, no mount command, a container without the capability)."""
  os.makedirs(str(path), exist_ok=True)
  if shutil.which('mount') is None:
    pytest.skip('no mount command to make a small tmpfs')
  options = 'size=%s%s' % (size, ',ro' if read_only else '')
  mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', options, 'tmpfs', str(path)],
                           capture_output=True, text=True)
  if mounted.returncode:
    pytest.skip('cannot mount a tmpfs here: %s' % (mounted.stderr.strip() or 'mount failed'))
  try:
    yield str(path)
  finally:
    subprocess.run(['umount', '-l', str(path)], capture_output=True, check=False)


def state_path(train_dir):
  return os.path.join(str(train_dir), checkpoints.STATE_FILENAME)


def write_state(train_dir, text):
  with open(state_path(train_dir), 'w') as f:
    f.write(text)
