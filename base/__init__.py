"""What every layer of the suite uses: the user-facing errors, durations, progress lines, atomic
writes, folder checks, class names in id order. Imports no package of the suite and no
TensorFlow, so the converter's worker processes, the nets and the scripts can all import it.
"""
import contextlib
import datetime
import errno
import fcntl
import os
import shutil
import tempfile
import time


class UserError(Exception):
  """A mistake the user can fix; the scripts print str(e) on one line and exit 2."""


class BadArgument(UserError, ValueError):
  """An argument the nets or preprocessing cannot build with (an image too small for the net, an
  unknown net, a batch norm over one value): a UserError, so the scripts print it on one line
  and exit 2 wherever it is raised; a ValueError for callers that check arguments that way."""


class FileSystemError(UserError):
  """The file system refused a read or write (full, read-only, permission denied, name too long):
  the scripts print str(e) on one line and exit 3, as nothing is wrong with the command."""


# The refusals a user can act on. TensorFlow's errors carry no errno, only strerror's words after
# the path ("<path>; No space left on device"), so they are recognised by those words.
_REFUSALS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
             errno.ENAMETOOLONG, errno.EIO)


def file_system_refusal(error):
  """(errno, the path or None) when `error` is the file system refusing: any OSError, or an
  error of TensorFlow (or of its event writer) whose message ends a line with one of the
  refusals' strerror words. None otherwise."""
  if isinstance(error, OSError) and error.errno:
    return error.errno, error.filename
  for line in str(error).splitlines():
    line = line.strip()
    for code in _REFUSALS:
      if line.endswith(os.strerror(code)):
        path = line[:-len(os.strerror(code))].rstrip(' ;:') or None
        return code, path
  return None


def class_names(names, num_classes):
  """The names of classes 0..num_classes-1 in id order, from an {id: name} dict (a dataset's
  labels_to_names) or a list of names; a class without a name is its id (an int)."""
  if isinstance(names, dict):
    return [names.get(i, i) for i in range(num_classes)]
  names = list(names)[:num_classes]
  return names + list(range(len(names), num_classes))


LISTED_CLASSES = 20  # a report lists up to this many classes one by one; beyond, it summarises
TOP5_CLASSES = 10    # with this many classes or more, evaluation reports top-5 accuracy


def worst_and_best(items, key, limit=LISTED_CLASSES):
  """What a report of many classes lists: (worst, best, left_out). At most `limit` items: all of
  them as `worst`, in their order, nothing left out. More: the limit // 2 items of the lowest
  key (lowest first), the limit - limit // 2 of the highest (highest first) and how many of the
  items lie between. Ties go by the items' order, so the result does not depend on chance."""
  items = list(items)
  if len(items) <= limit:
    return items, [], 0
  order = sorted(range(len(items)), key=lambda i: (key(items[i]), i))
  low, high = limit // 2, limit - limit // 2
  worst = [items[i] for i in order[:low]]
  best = [items[i] for i in reversed(order[len(order) - high:])]
  return worst, best, len(items) - limit


def first_line(error, longest=None):
  """The first line of an error's message, for one-line reports (TensorFlow's go on with the
  op and its stack), cut to `longest` characters when given; the error's type name when it has
  no message."""
  lines = str(error).strip().splitlines()
  line = lines[0].strip() if lines else type(error).__name__
  return line if longest is None else line[:longest]


def format_bytes(num_bytes):
  """'512 bytes', '12.3 KB', '185.0 MB', '1.2 GB' (powers of 1024)."""
  size = float(num_bytes)
  for unit in ('bytes', 'KB', 'MB', 'GB'):
    if size < 1024 or unit == 'GB':
      return '%d %s' % (size, unit) if unit == 'bytes' else '%.1f %s' % (size, unit)
    size /= 1024


def _existing_parent(path):
  """`path` itself if it exists, else its nearest existing parent folder."""
  path = os.path.abspath(path)
  while not os.path.exists(path) and os.path.dirname(path) != path:
    path = os.path.dirname(path)
  return path


def free_bytes(path):
  """Free bytes of the file system holding `path` (or its nearest existing parent); None when
  that cannot be told."""
  try:
    return shutil.disk_usage(_existing_parent(path)).free
  except OSError:
    return None


def describe_refusal(code, path, folder=None):
  """What the file system refused, for one line: 'no space left on the disk holding F (12.0 MB
  free)', 'F is on a read-only file system', 'permission denied for P', 'a name in P is too
  long (...)'. The folder named is the refused path's (or `folder` when the path is unknown).
  Names longer than 40 characters are cut short.
  """
  where = (os.path.dirname(path) if path and not os.path.isdir(path) else path) or folder or '.'
  if code in (errno.ENOSPC, errno.EDQUOT):
    free = free_bytes(where)
    what = 'no space left' if code == errno.ENOSPC else 'the disk quota is exceeded'
    return '%s on the disk holding %s (%s free)' % (
        what, shorten_path(where), format_bytes(free) if free is not None else 'unknown space')
  if code == errno.EROFS:
    return '%s is on a read-only file system' % shorten_path(where)
  if code in (errno.EACCES, errno.EPERM):
    return 'permission denied for %s' % shorten_path(path or where)
  if code == errno.ENAMETOOLONG:
    limit = _name_max(where)
    parent, _, name = (path or '').rstrip(os.sep).rpartition(os.sep)
    while parent and len(name) <= limit:  # The first name that is too long, from the end.
      parent, _, name = parent.rpartition(os.sep)
    if len(name) > limit:
      return 'the name %s (%d characters) in %s is longer than the %d the file system allows' % (
          shorten_path(name), len(name), parent or os.sep, limit)
    return 'the path %s is too long for the file system' % shorten_path(path or where)
  return '%s: %s' % (shorten_path(path or where), os.strerror(code))


def shorten_path(path, longest=40):
  """The path with each name longer than `longest` cut to its start and '...', for messages."""
  return os.sep.join(name if len(name) <= longest else name[:longest // 2] + '...'
                     for name in path.split(os.sep))


def _name_max(path):
  try:
    return os.pathconf(_existing_parent(path), 'PC_NAME_MAX')
  except (OSError, ValueError):
    return 255


def format_duration(seconds):
  """H:MM:SS for progress lines, days included ("1 day, 2:03:04")."""
  return str(datetime.timedelta(seconds=int(max(seconds, 0))))


def check_folder_path(path, flag):
  """UserError when `path` exists and is not a folder (it would be written into as one)."""
  if path and os.path.exists(path) and not os.path.isdir(path):
    raise UserError('--%s=%s is a file, not a folder; give a folder path' % (flag, path))


GLOB_CHARACTERS = '*?['


def check_no_glob_characters(path, flag):
  """UserError when a folder the suite writes or reads by pattern has glob characters in its
  path: TensorFlow expands checkpoint and shard patterns, so runs/run[12] would match (and its
  checkpoint rotation delete) runs/run1's files."""
  if path and any(c in path for c in GLOB_CHARACTERS):
    raise UserError('--%s=%s has glob characters (%s), which TensorFlow expands when it looks '
                    'for checkpoints and shards (it could read or delete another folder\'s '
                    'files); use a folder name without them' % (flag, path,
                                                               ' '.join(GLOB_CHARACTERS)))


class Progress:
  """Work done towards a total (images, say): the rate, the time left and one progress line.

  The rate is measured over the current lap: from the start, or from the last `lap()`, so a
  caller that logs every n steps reports the rate of those n steps, not of the whole run.
  """

  def __init__(self, total=None, done=0, clock=time.monotonic):
    self.total = total
    self.done = done
    self._clock = clock
    self._lap = (done, clock())
    self._last_due = self._lap[1]

  def advance(self, count=1):
    self.done += count

  def rate(self):
    """Units per second over the current lap; 0 before any time has passed."""
    lap_done, lap_time = self._lap
    elapsed = self._clock() - lap_time
    return (self.done - lap_done) / elapsed if elapsed > 0 else 0.0

  def eta(self):
    """Seconds left at the current rate; None without a total or a rate."""
    rate = self.rate()
    if not self.total or rate <= 0:
      return None
    return max(self.total - self.done, 0) / rate

  def lap(self):
    self._lap = (self.done, self._clock())

  def due(self, every_secs):
    """True at most once every `every_secs` seconds: time for the next progress line."""
    now = self._clock()
    if now - self._last_due < every_secs:
      return False
    self._last_due = now
    return True

  def rate_and_eta(self, unit='images'):
    """'12.3 images/s, ETA 0:00:05' (no ETA without a total)."""
    eta = self.eta()
    text = '%.1f %s/s' % (self.rate(), unit)
    return text if eta is None else '%s, ETA %s' % (text, format_duration(eta))

  def line(self, unit='images'):
    """'40/100 images (40%), 12.3 images/s, ETA 0:00:05'."""
    if not self.total:
      return '%d %s, %s' % (self.done, unit, self.rate_and_eta(unit))
    return '%d/%d %s (%.0f%%), %s' % (self.done, self.total, unit,
                                     100.0 * self.done / self.total, self.rate_and_eta(unit))


def check_writable(folder):
  """Raises the file system's OSError when `folder` cannot take a new file (read-only, no
  permission), before any work is spent that would have to be written there."""
  try:
    fd, path = tempfile.mkstemp(prefix='.writable-', dir=folder)
  except OSError as e:  # Named for the folder, not for the probe's random name.
    raise OSError(e.errno, e.strerror, folder) from None
  os.close(fd)
  os.remove(path)


@contextlib.contextmanager
def folder_lock(folder, name, what):
  """Holds an exclusive lock on folder/name while the block runs: a second process that asks for
  it gets a UserError naming the holder. The kernel drops the lock when its process ends, however
  it ends (kill -9 included), so a lock is never left stuck; the file stays, holding the last
  holder's PID for the message."""
  path = os.path.join(folder, name)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.read(fd, 200).decode('utf-8', 'replace').strip() or 'another process'
      raise UserError('%s is in use by %s (%s); stop it first, or use another folder'
                      % (folder, holder, what)) from None
    os.ftruncate(fd, 0)
    os.write(fd, ('%s, PID %d' % (what, os.getpid())).encode('utf-8'))
    yield
  finally:
    os.close(fd)  # releases the lock


def read_kib_field(path, key):
  """Bytes of a '<key>: N kB' line of a /proc file (meminfo, status), or None."""
  try:
    with open(path) as f:
      for line in f:
        if line.startswith(key + ':'):
          return int(line.split()[1]) * 1024
  except (OSError, ValueError, IndexError):
    pass
  return None


def _umask():
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def atomic_path(path):
  """Yields a temporary path beside `path`; renames it to `path` only if the block succeeds."""
  directory = os.path.dirname(os.path.abspath(path))
  fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp',
                             dir=directory)
  os.close(fd)
  os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual open() permissions.
  try:
    yield tmp
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.remove(tmp)
    raise


def fsync_path(path):
  """fsync a file or a folder, so a rename that publishes it never outlives its contents."""
  fd = os.open(path, os.O_RDONLY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def write_text_atomic(path, text):
  """Writes text (UTF-8) to path through a temporary file, synced before the rename."""
  with atomic_path(path) as tmp:
    with open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)
      f.flush()
      os.fsync(f.fileno())
