"""A private network for the tasks of training.local_cluster: one Linux network namespace with
nothing in it but its own loopback interface. TensorFlow's gRPC servers listen on every interface
whatever address their cluster gives them (grpc_server_lib.cc binds "0.0.0.0:<port>", which gRPC
makes "[::]:<port>"), and anyone who reaches such a port can run graph ops on the machine; inside
this namespace only the tasks beside them can.

  python training/private_network.py hold
      makes the namespace (as root a network namespace; otherwise inside a user namespace that
      maps this user to itself only, so the tasks write files as this user), brings its loopback
      up, prints "ready" (or "error: <why>" and exits 1), and keeps it until its stdin closes
  python training/private_network.py join PID -- COMMAND [ARGS...]
      enters the namespaces of PID (a holder), then becomes COMMAND (exec: the same PID)

Run as a file, it needs only the standard library (no TensorFlow, no package path): it runs
before every task. Needs Linux and, for a user
other than root, unprivileged user namespaces (some systems turn them off).
"""
import ctypes
import fcntl
import os
import socket
import struct
import subprocess
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = '16sH22x'  # struct ifreq: the name, then ifr_flags in a 24-byte union
READY = 'ready'
_THIS_FILE = os.path.abspath(__file__)


class NetworkError(Exception):
  """The private network cannot be made here; str(e) is one line saying why."""


def _system_call(name, *args):
  """os.unshare / os.setns (Python 3.12+), else libc's through ctypes; OSError on failure."""
  function = getattr(os, name, None)
  if function is not None:
    return function(*args)
  try:
    function = getattr(ctypes.CDLL(None, use_errno=True), name)
  except (AttributeError, OSError):
    raise OSError(38, '%s: not on this system' % name) from None  # ENOSYS
  if function(*args) != 0:
    number = ctypes.get_errno()
    raise OSError(number, '%s: %s' % (name, os.strerror(number)))
  return None


def _write(path, text):
  with open(path, 'w') as f:
    f.write(text)


def _loopback_up():
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack(_IFREQ, fcntl.ioctl(s, _SIOCGIFFLAGS, struct.pack(_IFREQ, b'lo', 0)))[1]
    fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack(_IFREQ, b'lo', flags | _IFF_UP))


def create():
  """Moves this (single-threaded) process into a new network namespace with its loopback up:
  as root a network namespace alone, otherwise with a user namespace mapping this user and group
  to themselves. OSError when the system refuses."""
  uid, gid = os.geteuid(), os.getegid()
  if uid == 0:
    _system_call('unshare', CLONE_NEWNET)
  else:
    _system_call('unshare', CLONE_NEWUSER | CLONE_NEWNET)
    _write('/proc/self/setgroups', 'deny')
    _write('/proc/self/uid_map', '%d %d 1' % (uid, uid))
    _write('/proc/self/gid_map', '%d %d 1' % (gid, gid))
  _loopback_up()


def join(pid):
  """Moves this (single-threaded) process into the user namespace (when another) and the
  network namespace of process pid."""
  for kind, flag in (('user', CLONE_NEWUSER), ('net', CLONE_NEWNET)):
    theirs = '/proc/%d/ns/%s' % (pid, kind)
    if os.stat(theirs).st_ino == os.stat('/proc/self/ns/%s' % kind).st_ino:
      continue
    fd = os.open(theirs, os.O_RDONLY)
    try:
      _system_call('setns', fd, flag)
    finally:
      os.close(fd)


def loopback_bytes(pid='self'):
  """Bytes sent over the loopback of process pid's network namespace so far (/proc, not /sys:
  sysfs shows the namespace it was mounted in)."""
  with open('/proc/%s/net/dev' % pid) as f:
    for line in f:
      name, _, fields = line.partition(':')
      if name.strip() == 'lo':
        return int(fields.split()[8])  # receive: 8 fields, then transmit bytes
  raise RuntimeError('no loopback interface in /proc/%s/net/dev' % pid)


def interfaces(pid='self'):
  """The names of the network interfaces process pid sees."""
  with open('/proc/%s/net/dev' % pid) as f:
    return sorted(line.partition(':')[0].strip() for line in f if ':' in line)


class Network:
  """A private network kept by a holder process (this file run with `hold`);
  command() runs a command inside it. NetworkError (one line) when it cannot be made."""

  def __init__(self):
    self.process = subprocess.Popen(
        [sys.executable, _THIS_FILE, 'hold'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
        start_new_session=True)  # Ctrl-C goes to the launcher, which ends this by closing stdin
    answer = self.process.stdout.readline().strip()
    if answer != READY:
      self.close()
      raise NetworkError(answer[len('error: '):] if answer.startswith('error: ') else
                         'its holder said %r' % (answer or 'nothing'))

  @property
  def pid(self):
    return self.process.pid

  def command(self, command):
    """The command that runs `command` (a list) inside this network, as the same process."""
    return [sys.executable, _THIS_FILE, 'join', str(self.pid), '--'] + list(command)

  def close(self, timeout=10):
    """Ends the holder (its stdin closed); the namespace ends with the last process in it."""
    if self.process.poll() is None:
      self.process.stdin.close()
      try:
        self.process.wait(timeout)
      except subprocess.TimeoutExpired:
        self.process.kill()
    self.process.wait()
    self.process.stdout.close()


def problem():
  """None when a private network can be made here, else why not (one line)."""
  try:
    Network().close()
  except NetworkError as e:
    return str(e)
  return None


def _hold():
  try:
    create()
  except OSError as e:
    print('error: this system does not let %s make a network namespace (%s)'
          % ('root' if os.geteuid() == 0 else 'this user', e.strerror or e), flush=True)
    return 1
  print(READY, flush=True)
  sys.stdin.read()  # until the launcher closes it, or ends
  return 0


def _join(argv):
  if len(argv) < 3 or argv[1] != '--' or not argv[0].isdigit():
    print('usage: private_network.py join PID -- COMMAND...', file=sys.stderr)
    return 2
  try:
    join(int(argv[0]))
  except OSError as e:
    print('error: cannot enter the private network of process %s (%s)' % (argv[0], e),
          file=sys.stderr)
    return 2
  os.execvp(argv[2], argv[2:])
  return 0  # (not reached)


def main(argv):
  if argv[:1] == ['hold']:
    return _hold()
  if argv[:1] == ['join']:
    return _join(argv[1:])
  print('usage: private_network.py hold | join PID -- COMMAND...', file=sys.stderr)
  return 2


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
