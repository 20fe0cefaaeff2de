"""download() and fetch(): served offline through file:// URLs or a stubbed urlopen."""
import hashlib
import io
import os
import urllib.error
import urllib.request

import pytest

from base import UserError
from datasets.convert import download as dl

PAYLOAD = bytes(range(256)) * 40  # 10 KB


@pytest.fixture
def source(tmp_path):
  """A file to download, and its file:// URL."""
  path = tmp_path / 'served' / 'flower_photos.tgz'
  path.parent.mkdir()
  path.write_bytes(PAYLOAD)
  return path, path.as_uri()


def sha256(data):
  return hashlib.sha256(data).hexdigest()


class FakeResponse(io.BytesIO):
  """What urlopen returns, with a Content-Length that may lie."""

  def __init__(self, data, content_length=None):
    super().__init__(data)
    length = len(data) if content_length is None else content_length
    self.headers = {'Content-Length': str(length)}


def serve(monkeypatch, data, content_length=None, seen=None):
  def fake_urlopen(url, timeout=None):
    if seen is not None:
      seen.append(url)
    return FakeResponse(data, content_length)
  monkeypatch.setattr(urllib.request, 'urlopen', fake_urlopen)


def refuse_network(monkeypatch):
  def no_urlopen(url, timeout=None):
    raise AssertionError('urlopen called for %s' % url)
  monkeypatch.setattr(urllib.request, 'urlopen', no_urlopen)


def test_sha256_of_file_matches_hashlib(source):
  path, _ = source
  assert dl.sha256_of_file(str(path), chunk_size=1000) == sha256(PAYLOAD)


def test_download_with_matching_checksum_writes_the_file(source, tmp_path):
  _, url = source
  dest = tmp_path / 'out' / 'a.tgz'
  result = dl.download(url, str(dest), expected_size=len(PAYLOAD),
                       expected_sha256=sha256(PAYLOAD).upper())
  assert result == str(dest)
  assert dest.read_bytes() == PAYLOAD
  assert sorted(os.listdir(dest.parent)) == ['a.tgz', 'a.tgz.url']  # and the URL it came from


def test_download_with_wrong_sha256_raises_and_leaves_no_file(source, tmp_path):
  _, url = source
  dest = tmp_path / 'a.tgz'
  with pytest.raises(UserError, match='SHA-256 %s does not match expected %s' %
                     (sha256(PAYLOAD), '0' * 64)):
    dl.download(url, str(dest), expected_sha256='0' * 64)
  assert not dest.exists()
  assert not os.path.exists(str(dest) + '.partial')


def test_download_with_wrong_size_raises_and_leaves_no_file(source, tmp_path):
  _, url = source
  dest = tmp_path / 'a.tgz'
  with pytest.raises(UserError, match='expected %d' % (len(PAYLOAD) + 1)):
    dl.download(url, str(dest), expected_size=len(PAYLOAD) + 1)
  assert not dest.exists()
  assert not os.path.exists(str(dest) + '.partial')


def test_download_reuses_an_existing_verified_file(source, tmp_path, monkeypatch):
  _, url = source
  dest = tmp_path / 'a.tgz'
  dl.download(url, str(dest), expected_sha256=sha256(PAYLOAD))
  refuse_network(monkeypatch)
  assert dl.download(url, str(dest), expected_sha256=sha256(PAYLOAD)) == str(dest)
  assert dest.read_bytes() == PAYLOAD


def test_without_a_checksum_only_a_download_of_the_same_url_is_reused(tmp_path, monkeypatch):
  """Two URLs with one file name: the second is downloaded, not taken for the first."""
  seen = []
  serve(monkeypatch, PAYLOAD, seen=seen)
  dest = str(tmp_path / 'photos.tgz')
  for url in ('http://h/v1/photos.tgz', 'http://h/v1/photos.tgz', 'http://h/v2/photos.tgz'):
    dl.download(url, dest)
  assert seen == ['http://h/v1/photos.tgz', 'http://h/v2/photos.tgz']
  assert (tmp_path / 'photos.tgz.url').read_text() == 'http://h/v2/photos.tgz'
  dl.remove_download(dest)
  assert os.listdir(tmp_path) == []


def test_download_replaces_an_existing_file_that_does_not_verify(source, tmp_path):
  _, url = source
  dest = tmp_path / 'a.tgz'
  dest.write_bytes(b'an older, different file')
  dl.download(url, str(dest), expected_sha256=sha256(PAYLOAD))
  assert dest.read_bytes() == PAYLOAD


def test_download_of_a_missing_url_raises_user_error_naming_it(tmp_path):
  url = (tmp_path / 'nothing_here.tgz').as_uri()
  dest = tmp_path / 'a.tgz'
  with pytest.raises(UserError, match='could not download %s' % url) as info:
    dl.download(url, str(dest))
  assert '\n' not in str(info.value)
  assert not dest.exists()
  assert not os.path.exists(str(dest) + '.partial')


def test_download_timeout_raises_user_error_and_leaves_no_partial(tmp_path, monkeypatch):
  def timing_out(url, timeout=None):
    raise urllib.error.URLError(TimeoutError('timed out'))
  monkeypatch.setattr(urllib.request, 'urlopen', timing_out)
  dest = tmp_path / 'a.tgz'
  with pytest.raises(UserError, match='could not download http://example.com/a.tgz: timed out'):
    dl.download('http://example.com/a.tgz', str(dest))
  assert os.listdir(tmp_path) == []


def test_download_cut_short_by_the_server_raises(tmp_path, monkeypatch):
  serve(monkeypatch, PAYLOAD[:100], content_length=len(PAYLOAD))
  dest = tmp_path / 'a.tgz'
  with pytest.raises(UserError, match='connection closed after 100 of %d bytes' % len(PAYLOAD)):
    dl.download('http://example.com/a.tgz', str(dest))
  assert os.listdir(tmp_path) == []


def test_download_reports_progress_to_the_callback(source, tmp_path):
  _, url = source
  calls = []
  dl.download(url, str(tmp_path / 'a.tgz'), progress=lambda done, total: calls.append(
      (done, total)), chunk_size=4096)
  assert calls[0] == (4096, len(PAYLOAD))
  assert calls[-1] == (len(PAYLOAD), len(PAYLOAD))


def test_download_rejects_a_malformed_expected_sha256(source, tmp_path):
  _, url = source
  with pytest.raises(UserError, match='not 64 hex digits'):
    dl.download(url, str(tmp_path / 'a.tgz'), expected_sha256='abc123')


def test_fetch_verifies_a_local_path_in_place_without_copying(source, tmp_path, monkeypatch):
  path, _ = source
  refuse_network(monkeypatch)
  download_dir = tmp_path / 'downloads'
  result = dl.fetch(str(path), str(download_dir), expected_sha256=sha256(PAYLOAD),
                    expected_size=len(PAYLOAD))
  assert result == str(path)
  assert not download_dir.exists()


def test_fetch_verifies_a_file_url_in_place(source, tmp_path, monkeypatch):
  path, url = source
  refuse_network(monkeypatch)
  assert dl.fetch(url, str(tmp_path / 'downloads'),
                  expected_sha256=sha256(PAYLOAD)) == str(path)


def test_fetch_of_a_local_file_with_the_wrong_sha256_raises(source, tmp_path):
  path, _ = source
  with pytest.raises(UserError, match='does not match expected'):
    dl.fetch(str(path), str(tmp_path / 'downloads'), expected_sha256='f' * 64)


def test_fetch_of_a_missing_local_file_raises(tmp_path):
  with pytest.raises(UserError, match='does not exist'):
    dl.fetch(str(tmp_path / 'missing.tgz'), str(tmp_path / 'downloads'))


def test_fetch_downloads_an_http_url_under_its_basename(tmp_path, monkeypatch):
  seen = []
  serve(monkeypatch, PAYLOAD, seen=seen)
  url = 'http://example.com/images/flower_photos.tgz?x=1'
  result = dl.fetch(url, str(tmp_path / 'downloads'), expected_sha256=sha256(PAYLOAD))
  assert result == str(tmp_path / 'downloads' / 'flower_photos.tgz')
  assert seen == [url]
  assert (tmp_path / 'downloads' / 'flower_photos.tgz').read_bytes() == PAYLOAD


def test_fetch_rejects_an_unsupported_url_scheme(tmp_path):
  with pytest.raises(UserError, match="unsupported URL scheme 's3'"):
    dl.fetch('s3://bucket/flower_photos.tgz', str(tmp_path))
