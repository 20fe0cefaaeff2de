"""Fetching the photo archive: download with progress, size and SHA-256 checks, or a local file.

A download is written to `dest_path + '.partial'` and renamed to `dest_path` only once it is
complete and verified, so a file at `dest_path` is always whole. Nothing here reads flags.
"""
import collections
import hashlib
import http.client
import os
import posixpath
import re
import urllib.error
import urllib.parse
import urllib.request

from absl import logging

import base
from base import UserError

FLOWERS_URL = 'http://download.tensorflow.org/example_images/flower_photos.tgz'
FLOWERS_SIZE = 228813984
FLOWERS_SHA256 = '4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c'

# An archive to download and what it must be; FLOWERS is the official one, the converter's
# default source.
Archive = collections.namedtuple('Archive', 'url size sha256')
FLOWERS = Archive(FLOWERS_URL, FLOWERS_SIZE, FLOWERS_SHA256)

CHUNK_SIZE = 1 << 20
LOG_EVERY_SECS = 2.0
DOWNLOAD_SCHEMES = ('http', 'https')
_MB = float(1 << 20)


def sha256_of_file(path, chunk_size=CHUNK_SIZE):
  """The SHA-256 of a file as lowercase hex, read in chunks."""
  digest = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(chunk_size), b''):
      digest.update(chunk)
  return digest.hexdigest()


def _normalize_sha256(expected_sha256):
  if expected_sha256 is None:
    return None
  value = expected_sha256.strip().lower()
  if not re.fullmatch(r'[0-9a-f]{64}', value):
    raise UserError('expected SHA-256 %r is not 64 hex digits: pass the full checksum'
                    % expected_sha256)
  return value


def _mismatch(label, size, sha256, expected_size, expected_sha256):
  """A one-line description of how a file differs from what was expected, or None."""
  if expected_size is not None and size != expected_size:
    return '%s: %d bytes, expected %d' % (label, size, expected_size)
  if expected_sha256 is not None and sha256 != expected_sha256:
    return '%s: SHA-256 %s does not match expected %s' % (label, sha256, expected_sha256)
  return None


def _file_mismatch(path, expected_size, expected_sha256):
  size = os.path.getsize(path)
  if expected_size is not None and size != expected_size:
    return _mismatch(path, size, None, expected_size, None)
  sha256 = sha256_of_file(path) if expected_sha256 is not None else None
  return _mismatch(path, size, sha256, expected_size, expected_sha256)


class _ProgressLog(object):
  """Logs done/total, MB/s and ETA at most every `every_secs`; also calls `callback`."""

  def __init__(self, label, total, callback=None, every_secs=LOG_EVERY_SECS):
    self._label = label
    self._callback = callback
    self._every_secs = every_secs
    self._tracker = base.Progress(total)

  def update(self, done, final=False):
    tracker = self._tracker
    if self._callback is not None:
      self._callback(done, tracker.total)
    tracker.done = done
    if not tracker.due(self._every_secs) and not final:
      return
    rate = tracker.rate()
    if tracker.total:
      eta = tracker.eta()
      logging.info('%s: %.1f/%.1f MB (%.0f%%), %.2f MB/s, ETA %.0f s', self._label, done / _MB,
                   tracker.total / _MB, 100.0 * done / tracker.total, rate / _MB,
                   float('inf') if eta is None else eta)
    else:
      logging.info('%s: %.1f MB, %.2f MB/s', self._label, done / _MB, rate / _MB)


def _content_length(response):
  value = response.headers.get('Content-Length') if response.headers else None
  try:
    return int(value) if value is not None else None
  except ValueError:
    return None


def _stream_to_file(response, out, url, expected_size, progress, chunk_size):
  """Copies the response into `out`; returns (bytes, sha256 hex)."""
  total = _content_length(response)
  if total is None:
    total = expected_size
  elif expected_size is not None and total != expected_size:
    raise UserError('%s: the server announces %d bytes, expected %d; check the URL, or pass '
                    'the right --sha256 if the file changed upstream' % (url, total, expected_size))
  digest = hashlib.sha256()
  done = 0
  log = _ProgressLog('downloading %s' % url, total, progress)
  while True:
    chunk = response.read(chunk_size)
    if not chunk:
      break
    out.write(chunk)
    digest.update(chunk)
    done += len(chunk)
    if expected_size is not None and done > expected_size:
      break  # Already too big: no need to fetch the rest.
    log.update(done)
  log.update(done, final=True)
  announced = _content_length(response)
  if announced is not None and done < announced:
    raise UserError('%s: connection closed after %d of %d bytes; retry' % (url, done, announced))
  return done, digest.hexdigest()


URL_SUFFIX = '.url'  # beside a download: the URL it came from


def _source_url(path):
  try:
    with open(path + URL_SUFFIX, encoding='utf-8') as f:
      return f.read()
  except OSError:
    return None


def remove_download(path):
  """Removes a downloaded file and the note of its URL."""
  os.remove(path)
  _remove_quietly(path + URL_SUFFIX)


def _remove_quietly(path):
  try:
    os.remove(path)
  except FileNotFoundError:
    pass


def download(url, dest_path, expected_size=None, expected_sha256=None, progress=None,
             timeout=60.0, chunk_size=CHUNK_SIZE):
  """Downloads an http/https/file URL to `dest_path` and returns `dest_path`.

  If `dest_path` already exists and matches `expected_size`/`expected_sha256` (or neither is
  given, and it was downloaded from this URL: `dest_path`.url says so), it is reused without
  downloading.
  Progress is logged every ~2 s; `progress(done_bytes, total_bytes_or_None)`, if given, is
  called after every chunk as well. Raises UserError on a network error or a size/checksum
  mismatch; no partial or unverified file is left behind.
  """
  expected_sha256 = _normalize_sha256(expected_sha256)
  if os.path.isfile(dest_path):
    problem = _file_mismatch(dest_path, expected_size, expected_sha256)
    if problem is None and not (expected_size or expected_sha256) and _source_url(dest_path) != url:
      problem = '%s was downloaded from another URL' % dest_path
    if problem is None:
      logging.info('Reusing %s (already downloaded and verified).', dest_path)
      return dest_path
    logging.warning('%s; downloading it again.', problem)
  directory = os.path.dirname(os.path.abspath(dest_path))
  os.makedirs(directory, exist_ok=True)
  partial = dest_path + '.partial'
  try:
    try:
      with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, 'wb') as out:
        size, sha256 = _stream_to_file(response, out, url, expected_size, progress, chunk_size)
        out.flush()
        os.fsync(out.fileno())
    except urllib.error.URLError as e:
      reason = e if isinstance(e, urllib.error.HTTPError) else e.reason
      raise UserError('could not download %s: %s; check the URL and your network, then retry'
                      % (url, reason)) from e
    except (http.client.HTTPException, ConnectionError, TimeoutError) as e:
      raise UserError('could not download %s: %s: %s; retry' % (url, type(e).__name__, e)) from e
    except OSError as e:
      raise UserError('could not download %s to %s: %s' % (url, partial, e)) from e
    problem = _mismatch('downloaded %s' % url, size, sha256, expected_size, expected_sha256)
    if problem is not None:
      raise UserError('%s; delete %s and retry, or pass --sha256 with the new checksum if the '
                      'file changed upstream' % (problem, dest_path))
    _remove_quietly(dest_path + URL_SUFFIX)  # (before: it must never name another file)
    os.replace(partial, dest_path)
    with open(dest_path + URL_SUFFIX + '.partial', 'w', encoding='utf-8') as f:
      f.write(url)
    os.replace(dest_path + URL_SUFFIX + '.partial', dest_path + URL_SUFFIX)
  except BaseException:
    _remove_quietly(partial)
    raise
  logging.info('Downloaded %s to %s (%d bytes, SHA-256 %s).', url, dest_path, size, sha256)
  return dest_path


def _local_path(path_or_url):
  """The local path for a plain path or a file:// URL, or None for a URL to download."""
  parts = urllib.parse.urlsplit(path_or_url)
  scheme = parts.scheme.lower()
  if scheme == 'file':
    if parts.netloc not in ('', 'localhost'):
      raise UserError('%s: file:// URLs must name a local file (file:///path)' % path_or_url)
    return urllib.request.url2pathname(parts.path)
  if scheme in DOWNLOAD_SCHEMES:
    return None
  if len(scheme) > 1:  # One letter is a Windows drive, i.e. a path.
    raise UserError('%s: unsupported URL scheme %r; give a local path, or an http, https or '
                    'file URL' % (path_or_url, parts.scheme))
  return os.path.expanduser(path_or_url)


def fetch(path_or_url, download_dir, expected_sha256=None, expected_size=None, progress=None):
  """Returns a local path for an archive given as a path, a file:// URL or an http(s) URL.

  Local files are verified in place (size and SHA-256 when given), not copied; a local folder is
  returned as it is (a checksum cannot apply to it). http/https URLs are downloaded with
  download() into `download_dir` under the URL's file name, reusing a verified earlier download.
  """
  expected_sha256 = _normalize_sha256(expected_sha256)
  local = _local_path(path_or_url)
  if local is None:
    name = posixpath.basename(urllib.parse.unquote(urllib.parse.urlsplit(path_or_url).path))
    if name in ('', '.', '..'):
      raise UserError('%s: the URL does not end in a file name; give the URL of the archive file'
                      % path_or_url)
    return download(path_or_url, os.path.join(download_dir, name), expected_size=expected_size,
                    expected_sha256=expected_sha256, progress=progress)
  if not os.path.exists(local):
    raise UserError('%s does not exist: give the path of an existing archive or folder, or a URL'
                    % local)
  if os.path.isdir(local):
    if expected_sha256 is not None or expected_size is not None:
      raise UserError('%s is a folder: a size or SHA-256 applies only to an archive file; drop it'
                      % local)
    return local
  problem = _file_mismatch(local, expected_size, expected_sha256)
  if problem is not None:
    raise UserError('%s; check you have the right file, or pass --sha256 with its checksum'
                    % problem)
  return local
