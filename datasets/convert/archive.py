"""Safe extraction of a photo archive laid out as class folders.

Two layouts are accepted:
  ROOT/<class>/<image>   one top folder, like flower_photos.tgz: extracted to DEST/ROOT.
  <class>/<image>        class folders at the top: extracted to DEST/<archive name without
                         its extension> (e.g. photos.zip -> DEST/photos).
Either way `ExtractResult.root` is the folder that directly holds the class folders. In both, the
top may instead be a given split (photos.given_split_of): train/<class>/<image> beside
val/<class>/<image> (or validation/), as ImageNet and most public sets ship; then the root holds
train/ and val/, and a test/ beside them is refused (not converted).

Only regular files at ROOT/<class>/<file> (or ROOT/<split>/<class>/<file>) and the folders leading
to them are taken. Every other member is refused with a reason: absolute paths, '..' components,
symlinks, hard links, devices, FIFOs, hidden or __MACOSX entries, and files at another depth such
as the ROOT/LICENSE.txt of flower_photos.tgz. Members are never extracted by tarfile/zipfile:
each one is checked here, then its bytes are streamed into a file created under a fresh
temporary folder inside DEST (so nothing can be written outside DEST), which is renamed into
place when complete.
Nothing here reads flags.
"""
import collections
import errno
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib

from absl import logging

import base
from base import UserError
from datasets.convert import photos as photos_lib

ExtractResult = collections.namedtuple('ExtractResult', ['root', 'refused', 'extracted'])
ExtractResult.__doc__ = """root: folder holding the class folders; refused: [(member name,
reason)]; extracted: number of files written."""

ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz', '.tar.bz2', '.tbz2', '.tar.xz', '.txz', '.tar', '.zip')
TEMP_PREFIX = '.extract-'
REPLACED_PREFIX = '.replaced-'
CHUNK_SIZE = 1 << 20
LOG_EVERY_SECS = 2.0
NOT_IN_CLASS_FOLDER = 'not in a class folder'
NOT_CONVERTED_SPLIT = 'a split that is not converted'

# What a damaged archive raises while being read (gzip.BadGzipFile is an OSError).
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError,
                OSError, RuntimeError, NotImplementedError)

# One archive member: its name, split path, 'file' or 'dir' (None when refused), the reason it
# is refused (or None), and the tarfile/zipfile handle for reading it.
_Entry = collections.namedtuple('_Entry', ['name', 'parts', 'kind', 'reason', 'handle'])


class _Corrupt(Exception):
  """Reading the archive failed."""


def _split_name(name):
  """(path components, None) for a safe member name, else (None, reason). './' gives ()."""
  if name.startswith(('/', '\\')) or re.match(r'[A-Za-z]:', name):
    return None, 'absolute path'
  parts = tuple(p for p in re.split(r'[/\\]', name) if p not in ('', '.'))
  if '..' in parts:
    return None, 'parent reference'
  if any(p.startswith('.') or p == '__MACOSX' for p in parts):
    return None, 'hidden or metadata entry'
  return parts, None


def _tar_kind(info):
  """('file'|'dir', None) or (None, reason) for a TarInfo."""
  if info.issym():
    return None, 'symlink'
  if info.islnk():
    return None, 'hard link'
  if info.ischr() or info.isblk():
    return None, 'device'
  if info.isfifo():
    return None, 'fifo'
  if info.isdir():
    return 'dir', None
  if info.isreg():
    return 'file', None
  return None, 'unsupported member type'


def _zip_kind(info):
  """('file'|'dir', None) or (None, reason) for a ZipInfo (Unix type bits live in
  external_attr's high 16 bits)."""
  mode = info.external_attr >> 16
  if stat.S_ISLNK(mode):
    return None, 'symlink'
  if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
    return None, 'device'
  if stat.S_ISFIFO(mode):
    return None, 'fifo'
  if stat.S_ISSOCK(mode):
    return None, 'socket'
  if info.is_dir() or stat.S_ISDIR(mode):
    return 'dir', None
  if info.flag_bits & 0x1:
    return None, 'encrypted'
  return 'file', None


def _entry(name, kind_and_reason, handle):
  parts, reason = _split_name(name)
  kind = None
  if reason is None:
    kind, reason = kind_and_reason
  return _Entry(name, parts, kind, reason, handle)


class _TarSource(object):
  """Members of a tar archive (any compression tarfile reads)."""
  members_apart = False  # one stream: a member that cannot be read spoils the rest

  def __init__(self, path):
    self._tar = tarfile.open(path, 'r:*')

  def entries(self):
    return [_entry(info.name, _tar_kind(info), info) for info in self._tar.getmembers()]

  def extra_check(self, entry, dest_dir):
    """tarfile's own 'data' filter, as a second opinion where Python has it."""
    if not hasattr(tarfile, 'data_filter'):
      return None
    try:
      tarfile.data_filter(entry.handle, dest_dir)
    except tarfile.FilterError as e:
      return 'refused by tarfile data filter: %s' % e
    return None

  def open(self, entry):
    return self._tar.extractfile(entry.handle)

  def close(self):
    self._tar.close()


class _ZipSource(object):
  """Members of a zip archive."""
  members_apart = True  # each compressed on its own: one bad member leaves the others whole

  def __init__(self, path):
    self._zip = zipfile.ZipFile(path)

  def entries(self):
    return [_entry(info.filename, _zip_kind(info), info) for info in self._zip.infolist()]

  def extra_check(self, entry, dest_dir):
    return None

  def open(self, entry):
    return self._zip.open(entry.handle)

  def close(self):
    self._zip.close()


def _open_source(archive_path):
  if not os.path.isfile(archive_path):
    raise UserError('%s is not a file: give the path of a .tgz, .tar or .zip archive'
                    % archive_path)
  try:
    if tarfile.is_tarfile(archive_path):
      return _TarSource(archive_path)
    if zipfile.is_zipfile(archive_path):
      return _ZipSource(archive_path)
  except _READ_ERRORS as e:
    raise _Corrupt(e) from e
  raise UserError('%s is not a tar or zip archive (or it is truncated): give a .tgz, .tar or '
                  '.zip of class folders, or download it again' % archive_path)


def _prefix_length(entries):
  """1 when every member sits under one top folder that holds class folders, else 0."""
  paths = [e.parts for e in entries if e.kind is not None and e.parts]
  tops = set(p[0] for p in paths)
  nested_files = any(len(e.parts) >= 3 for e in entries if e.kind == 'file')
  return 1 if len(tops) == 1 and nested_files else 0


def _given_split(entries, prefix, archive_path):
  """The split folders (photos.given_split_of) when the folders at the top (under the prefix)
  are a given split, else None."""
  tops = set(e.parts[prefix] for e in entries if e.kind is not None and (
      len(e.parts) > prefix + 1 or (e.kind == 'dir' and len(e.parts) == prefix + 1)))
  return photos_lib.given_split_of(tops, archive_path)


def _archive_stem(archive_path):
  name = os.path.basename(archive_path)
  for suffix in ARCHIVE_SUFFIXES:
    if name.lower().endswith(suffix) and len(name) > len(suffix):
      return name[:-len(suffix)]
  return name + '_extracted'


def _pid_alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except OSError:
    return True
  return True


def _remove_leftovers(dest_dir):
  """Removes temporary folders of earlier runs that were interrupted (their process is gone)."""
  for name in os.listdir(dest_dir):
    match = re.match(r'(%s|%s)(\d+)-' % (re.escape(TEMP_PREFIX), re.escape(REPLACED_PREFIX)),
                     name)
    if not match or int(match.group(2)) == os.getpid() or _pid_alive(int(match.group(2))):
      continue
    path = os.path.join(dest_dir, name)
    if os.path.isdir(path) and not os.path.islink(path):
      logging.info('Removing %s left by an interrupted extraction.', path)
      shutil.rmtree(path, ignore_errors=True)


def _copy_member(source, entry, path):
  """Streams one member's bytes into a new file at `path` (never following a link)."""
  flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0)
  try:
    src = source.open(entry)
  except _READ_ERRORS as e:
    raise _Corrupt(e) from e
  with src, os.fdopen(os.open(path, flags, 0o644), 'wb') as out:
    while True:
      try:
        chunk = src.read(CHUNK_SIZE)
      except _READ_ERRORS as e:
        raise _Corrupt(e) from e
      if not chunk:
        break
      out.write(chunk)


def _write_member(source, entry, path):
  """Writes one member; returns why it was left out (a name too long for the file system, or a
  zip member that does not read back), or None. A tar stream that cannot be read raises."""
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _copy_member(source, entry, path)
  except OSError as e:
    if e.errno != errno.ENAMETOOLONG:
      raise
    return 'name too long for the file system'
  except _Corrupt as e:
    if not source.members_apart:
      raise
    if os.path.lexists(path):
      os.remove(path)
    return 'corrupt in the archive (%s: %s)' % (type(e.__cause__).__name__, e.__cause__)
  return None


def _place_problem(entry, prefix, split):
  """Why a member is not at a place photos are taken from, or None."""
  depth = len(entry.parts) - prefix
  if split is not None:
    if depth and entry.parts[prefix] not in split.values():
      return NOT_CONVERTED_SPLIT
    depth -= 1
  if (entry.kind == 'file' and depth != 2) or (entry.kind == 'dir' and depth > 1):
    return NOT_IN_CLASS_FOLDER
  return None


def _extract_entries(source, entries, prefix, temp_dir, split=None):
  """Writes the taken members under temp_dir (split: the split folders of a given split);
  returns (refused, files written)."""
  refused = []
  written = set()
  last_log = time.monotonic()
  for entry in entries:
    if entry.kind == 'dir' and not entry.parts:
      continue  # The archive's own './' entry.
    reason = entry.reason
    if reason is None:
      reason = _place_problem(entry, prefix, split)
    if reason is None:
      reason = source.extra_check(entry, temp_dir)
    relative = entry.parts[prefix:] if reason is None else ()
    if reason is None and entry.kind == 'file' and relative in written:
      reason = 'duplicate name'
    if reason is not None:
      refused.append((entry.name, reason))
      continue
    path = os.path.join(temp_dir, *relative)
    if entry.kind == 'dir':
      os.makedirs(path, exist_ok=True)
      continue
    problem = _write_member(source, entry, path)
    if problem:
      refused.append((entry.name, problem))
      continue
    written.add(relative)
    if time.monotonic() - last_log >= LOG_EVERY_SECS:
      last_log = time.monotonic()
      logging.info('Extracting: %d of %d members done.', len(written) + len(refused),
                   len(entries))
  return refused, len(written)


def _final_name(archive_path, entries, prefix):
  if prefix:
    return next(e.parts[0] for e in entries if e.kind is not None and e.parts)
  return _archive_stem(archive_path)


def _move_into_place(temp_dir, target, dest_dir):
  """Renames temp_dir to target, replacing an earlier extraction there."""
  if os.path.islink(target) or (os.path.exists(target) and not os.path.isdir(target)):
    raise UserError('%s exists and is not a folder: move it away or extract elsewhere' % target)
  if not os.path.exists(target):
    os.rename(temp_dir, target)
    return
  old = tempfile.mkdtemp(prefix='%s%d-' % (REPLACED_PREFIX, os.getpid()), dir=dest_dir)
  os.rename(target, os.path.join(old, 'old'))
  os.rename(temp_dir, target)
  logging.info('Replaced the earlier extraction at %s.', target)
  shutil.rmtree(old, ignore_errors=True)


def _log_refused(archive_path, refused):
  if not refused:
    return
  counts = collections.Counter(reason for _, reason in refused)
  logging.warning('%s: skipped %d members (%s).', archive_path, len(refused),
                  ', '.join('%s: %d' % item for item in sorted(counts.items())))
  for name, reason in refused[:10]:
    logging.info('  skipped %r: %s', name, reason)


def safe_extract(archive_path, dest_dir):
  """Extracts the class folders of a .tgz/.tar.gz/.tar/.zip (detected by content) into dest_dir.

  Returns ExtractResult(root, refused, extracted); see the module docstring for the layouts and
  what is refused. An earlier extraction at the same place is replaced; a temporary folder left
  by an interrupted run is removed. Raises UserError for a file that is not a tar or zip, a
  corrupt or truncated archive, an archive with no file in a class folder, or a failed write.
  """
  temp_dir = None
  source = None
  try:
    os.makedirs(dest_dir, exist_ok=True)
    _remove_leftovers(dest_dir)
    source = _open_source(archive_path)
    try:
      entries = source.entries()
    except _READ_ERRORS as e:
      raise _Corrupt(e) from e
    prefix = _prefix_length(entries)
    split = _given_split(entries, prefix, archive_path)
    temp_dir = tempfile.mkdtemp(prefix='%s%d-' % (TEMP_PREFIX, os.getpid()), dir=dest_dir)
    refused, extracted = _extract_entries(source, entries, prefix, temp_dir, split)
    _log_refused(archive_path, refused)
    if not extracted:
      raise UserError('%s has no files in class folders (%d members skipped): expected '
                      'ROOT/<class>/<image> or <class>/<image>' % (archive_path, len(refused)))
    target = os.path.join(dest_dir, _final_name(archive_path, entries, prefix))
    _move_into_place(temp_dir, target, dest_dir)
    temp_dir = None
  except _Corrupt as e:
    raise UserError('%s is corrupt or truncated (%s: %s): delete it and download it again'
                    % (archive_path, type(e.__cause__).__name__, e.__cause__)) from e
  except OSError as e:  # Writing failed: disk full, permissions, a name the system refuses.
    raise base.FileSystemError('could not extract %s into %s: %s' % (archive_path, dest_dir,
                                                                     e)) from e
  finally:
    if source is not None:
      source.close()
    if temp_dir is not None:
      shutil.rmtree(temp_dir, ignore_errors=True)
  logging.info('Extracted %d files from %s into %s.', extracted, archive_path, target)
  return ExtractResult(target, refused, extracted)
