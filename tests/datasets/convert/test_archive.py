"""safe_extract(): archives built here, including hostile members crafted with TarInfo/ZipInfo."""
import io
import os
import stat
import subprocess
import tarfile
import zipfile

import pytest

from base import UserError
from datasets.convert.archive import safe_extract

GOOD = {
    'flower_photos/daisy/a.jpg': b'daisy bytes \x00\xff' * 50,
    'flower_photos/roses/b.jpg': b'roses bytes',
    'flower_photos/roses/c.jpg': b'',
}


# --- building archives ------------------------------------------------------------------------

def tar_file(name, data):
  info = tarfile.TarInfo(name)
  info.size = len(data)
  return info, data


def tar_special(name, type_, linkname=''):
  info = tarfile.TarInfo(name)
  info.type = type_
  info.linkname = linkname
  if type_ in (tarfile.CHRTYPE, tarfile.BLKTYPE):
    info.devmajor, info.devminor = 1, 3
  return info, None


def write_tar(path, members, mode='w:gz'):
  with tarfile.open(str(path), mode) as tar:
    for info, data in members:
      tar.addfile(info, io.BytesIO(data) if data is not None else None)


def zip_file(name, data, mode=0o644):
  info = zipfile.ZipInfo(name)
  info.external_attr = mode << 16
  return info, data


def write_zip(path, members):
  with zipfile.ZipFile(str(path), 'w', zipfile.ZIP_DEFLATED) as archive:
    for info, data in members:
      archive.writestr(info, data)


def good_members(kind, files=GOOD):
  make = tar_file if kind != 'zip' else zip_file
  return [make(name, data) for name, data in files.items()]


def write_archive(path, kind, members):
  if kind == 'zip':
    write_zip(path, members)
  else:
    write_tar(path, members, {'tgz': 'w:gz', 'tar': 'w'}[kind])


def snapshot(top, skip):
  """Every path under `top` (symlinks not followed) outside `skip`, with file bytes."""
  seen = {}
  for directory, dirs, files in os.walk(str(top)):
    dirs[:] = [d for d in dirs if os.path.join(directory, d) != str(skip)]
    for name in dirs + files:
      path = os.path.join(directory, name)
      seen[path] = None if os.path.isdir(path) else open(path, 'rb').read()
  return seen


def extracted_files(root):
  found = {}
  for directory, _, files in os.walk(root):
    for name in files:
      path = os.path.join(directory, name)
      assert not os.path.islink(path)
      found[os.path.relpath(path, root)] = open(path, 'rb').read()
  return found


def expected_files(files=GOOD, prefix='flower_photos/'):
  return {name[len(prefix):]: data for name, data in files.items()}


@pytest.fixture
def work(tmp_path):
  """tmp_path/work holds the archive; extraction goes to tmp_path/work/out."""
  (tmp_path / 'work').mkdir()
  (tmp_path / 'secret.txt').write_bytes(b'do not touch')
  return tmp_path / 'work'


# --- layouts ----------------------------------------------------------------------------------

@pytest.mark.parametrize('kind', ['tgz', 'tar', 'zip'])
def test_one_top_folder_extracts_class_folders_with_exact_bytes(work, kind):
  archive = work / ('photos.' + kind)
  write_archive(archive, kind, good_members(kind))
  result = safe_extract(str(archive), str(work / 'out'))
  assert result.root == str(work / 'out' / 'flower_photos')
  assert extracted_files(result.root) == expected_files()
  assert result.extracted == 3
  assert result.refused == []
  assert os.listdir(str(work / 'out')) == ['flower_photos']


def test_class_folders_at_top_level_extract_to_a_folder_named_after_the_archive(work):
  files = {'daisy/a.jpg': b'a', 'roses/b.jpg': b'b'}
  write_zip(work / 'my_photos.zip', good_members('zip', files))
  result = safe_extract(str(work / 'my_photos.zip'), str(work / 'out'))
  assert result.root == str(work / 'out' / 'my_photos')
  assert extracted_files(result.root) == files


def test_top_level_license_is_not_taken(work):
  members = good_members('tgz') + [tar_file('flower_photos/LICENSE.txt', b'CC-BY')]
  write_tar(work / 'f.tgz', members)
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert result.refused == [('flower_photos/LICENSE.txt', 'not in a class folder')]
  assert not os.path.exists(os.path.join(result.root, 'LICENSE.txt'))
  assert extracted_files(result.root) == expected_files()


def test_files_nested_below_a_class_folder_are_not_taken(work):
  members = good_members('tgz') + [tar_file('flower_photos/daisy/sub/x.jpg', b'x')]
  write_tar(work / 'f.tgz', members)
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert result.refused == [('flower_photos/daisy/sub/x.jpg', 'not in a class folder')]
  assert extracted_files(result.root) == expected_files()


def test_dot_slash_names_from_tar_of_a_folder_are_accepted(work):
  members = [tar_special('./', tarfile.DIRTYPE)]
  members += [tar_file('./' + name, data) for name, data in GOOD.items()]
  write_tar(work / 'f.tgz', members)
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert result.root == str(work / 'out' / 'flower_photos')
  assert result.refused == []
  assert extracted_files(result.root) == expected_files()


def test_macosx_metadata_and_hidden_files_are_skipped(work):
  members = good_members('zip') + [zip_file('__MACOSX/flower_photos/daisy/._a.jpg', b'meta'),
                                   zip_file('flower_photos/daisy/.DS_Store', b'ds')]
  write_zip(work / 'f.zip', members)
  result = safe_extract(str(work / 'f.zip'), str(work / 'out'))
  assert result.root == str(work / 'out' / 'flower_photos')
  assert sorted(reason for _, reason in result.refused) == ['hidden or metadata entry'] * 2
  assert extracted_files(result.root) == expected_files()


# --- hostile members --------------------------------------------------------------------------

def hostile_member(kind, case, tmp_path):
  """(member to add, its name, the reason it must be refused with)."""
  outside = str(tmp_path / 'secret.txt')
  tar = kind != 'zip'
  if case == 'parent':
    name = 'flower_photos/daisy/../../../evil.jpg'
    return (tar_file if tar else zip_file)(name, b'evil'), name, 'parent reference'
  if case == 'absolute':
    name = str(tmp_path / 'evil.jpg')
    return (tar_file if tar else zip_file)(name, b'evil'), name, 'absolute path'
  name = 'flower_photos/daisy/x.jpg'
  if case == 'symlink':
    if tar:
      return tar_special(name, tarfile.SYMTYPE, outside), name, 'symlink'
    return zip_file(name, outside.encode(), stat.S_IFLNK | 0o777), name, 'symlink'
  if case == 'hardlink':
    return tar_special(name, tarfile.LNKTYPE, outside), name, 'hard link'
  if case == 'chardev':
    if tar:
      return tar_special(name, tarfile.CHRTYPE), name, 'device'
    return zip_file(name, b'', stat.S_IFCHR | 0o644), name, 'device'
  if case == 'blockdev':
    return tar_special(name, tarfile.BLKTYPE), name, 'device'
  if case == 'fifo':
    if tar:
      return tar_special(name, tarfile.FIFOTYPE), name, 'fifo'
    return zip_file(name, b'', stat.S_IFIFO | 0o644), name, 'fifo'
  raise ValueError(case)


HOSTILE_CASES = ([('tgz', c) for c in ('parent', 'absolute', 'symlink', 'hardlink', 'chardev',
                                       'blockdev', 'fifo')] +
                 [('zip', c) for c in ('parent', 'absolute', 'symlink', 'chardev', 'fifo')])


@pytest.mark.parametrize('kind,case', HOSTILE_CASES)
def test_hostile_member_is_refused_and_nothing_is_written_outside(work, kind, case):
  member, name, reason = hostile_member(kind, case, work.parent)
  archive = work / ('f.' + kind)
  write_archive(archive, kind, [member] + good_members(kind))
  before = snapshot(work.parent, skip=work / 'out')
  result = safe_extract(str(archive), str(work / 'out'))
  assert snapshot(work.parent, skip=work / 'out') == before
  assert result.refused == [(name, reason)]
  assert extracted_files(result.root) == expected_files()


def test_file_written_through_a_refused_symlink_folder_stays_inside(work):
  members = good_members('tgz') + [
      tar_special('flower_photos/tulips', tarfile.SYMTYPE, str(work.parent)),
      tar_file('flower_photos/tulips/evil.jpg', b'evil')]
  write_tar(work / 'f.tgz', members)
  before = snapshot(work.parent, skip=work / 'out')
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert snapshot(work.parent, skip=work / 'out') == before
  assert result.refused == [('flower_photos/tulips', 'symlink')]
  assert extracted_files(result.root)['tulips/evil.jpg'] == b'evil'


def test_file_written_over_a_refused_hard_link_does_not_change_its_target(work):
  secret = work.parent / 'secret.txt'
  members = good_members('tgz') + [
      tar_special('flower_photos/daisy/h.jpg', tarfile.LNKTYPE, str(secret)),
      tar_file('flower_photos/daisy/h.jpg', b'overwritten')]
  write_tar(work / 'f.tgz', members)
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert secret.read_bytes() == b'do not touch'
  assert result.refused == [('flower_photos/daisy/h.jpg', 'hard link')]
  assert extracted_files(result.root)['daisy/h.jpg'] == b'overwritten'


# --- bad archives -----------------------------------------------------------------------------

def assert_nothing_left(out_dir):
  assert not os.path.exists(out_dir) or os.listdir(out_dir) == []


def test_a_file_that_is_not_an_archive_raises_user_error(work):
  (work / 'notes.tgz').write_bytes(b'just some text, not an archive\n' * 100)
  with pytest.raises(UserError, match='is not a tar or zip archive'):
    safe_extract(str(work / 'notes.tgz'), str(work / 'out'))
  assert_nothing_left(str(work / 'out'))


@pytest.mark.parametrize('kind', ['tgz', 'tar', 'zip'])
def test_a_truncated_archive_raises_user_error(work, kind):
  files = {'flower_photos/daisy/%d.jpg' % i: os.urandom(20000) for i in range(4)}
  archive = work / ('f.' + kind)
  write_archive(archive, kind, good_members(kind, files))
  data = archive.read_bytes()
  archive.write_bytes(data[:len(data) * 2 // 3])
  with pytest.raises(UserError, match='corrupt or truncated|not a tar or zip') as info:
    safe_extract(str(archive), str(work / 'out'))
  assert '\n' not in str(info.value)
  assert_nothing_left(str(work / 'out'))


def test_a_zip_member_with_damaged_bytes_is_refused_alone(work):
  """Zip members are compressed apart: one damaged member is left out with its reason, the
  others are extracted (a tar stream that cannot be read stops the whole extraction:
  test_a_truncated_archive_raises_user_error)."""
  data = b'A' * 5000
  with zipfile.ZipFile(str(work / 'f.zip'), 'w', zipfile.ZIP_STORED) as archive:
    archive.writestr('flower_photos/daisy/a.jpg', data)
    archive.writestr('flower_photos/roses/b.jpg', b'roses bytes')
  raw = bytearray((work / 'f.zip').read_bytes())
  raw[raw.index(data) + 100] ^= 0xff
  (work / 'f.zip').write_bytes(bytes(raw))
  result = safe_extract(str(work / 'f.zip'), str(work / 'out'))
  assert extracted_files(result.root) == {os.path.join('roses', 'b.jpg'): b'roses bytes'}
  [(member, reason)] = result.refused
  assert member == 'flower_photos/daisy/a.jpg' and reason.startswith(
      'corrupt in the archive (BadZipFile: Bad CRC-32')


def test_a_member_name_too_long_for_the_file_system_is_refused_alone(work):
  long_name = 'flower_photos/daisy/' + '\u82b1' * 100 + '.jpg'  # 304 bytes: NTFS takes it
  write_tar(work / 'f.tgz', good_members('tgz') + [tar_file(long_name, b'x')])
  result = safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert extracted_files(result.root) == expected_files()
  assert result.refused == [(long_name, 'name too long for the file system')]


def test_an_archive_without_files_in_class_folders_raises_user_error(work):
  write_tar(work / 'f.tgz', [tar_file('README', b'hi'), tar_file('LICENSE.txt', b'x'),
                             tar_special('empty_class', tarfile.DIRTYPE)])
  with pytest.raises(UserError, match='no files in class folders'):
    safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert_nothing_left(str(work / 'out'))


# --- reruns -----------------------------------------------------------------------------------

def test_extracting_again_replaces_the_earlier_extraction(work):
  write_tar(work / 'old.tgz', [tar_file('flower_photos/daisy/old.jpg', b'old')])
  safe_extract(str(work / 'old.tgz'), str(work / 'out'))
  write_tar(work / 'new.tgz', good_members('tgz'))
  result = safe_extract(str(work / 'new.tgz'), str(work / 'out'))
  assert extracted_files(result.root) == expected_files()
  assert os.listdir(str(work / 'out')) == ['flower_photos']


def test_a_temp_folder_left_by_a_dead_process_is_removed(work):
  process = subprocess.Popen(['true'])
  process.wait()
  leftover = work / 'out' / ('.extract-%d-abc' % process.pid)
  (leftover / 'flower_photos' / 'daisy').mkdir(parents=True)
  (leftover / 'flower_photos' / 'daisy' / 'half.jpg').write_bytes(b'half')
  write_tar(work / 'f.tgz', good_members('tgz'))
  safe_extract(str(work / 'f.tgz'), str(work / 'out'))
  assert os.listdir(str(work / 'out')) == ['flower_photos']
