"""pretrained/pth.py reads torch.save's files without torch: the fixtures written by real torch
(tests/fixtures/pth, made by make_fixtures.py there) come back exactly, write_pth's files read the
same, and hostile, corrupt, truncated or foreign files are refused with one line."""
import collections
import os
import pathlib
import pickle
import struct
import zipfile

import numpy as np
import pytest

from pretrained import pth
from support.pth_files import View
from support.pth_files import write_pth

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures',
                        'pth')
MARKER = 'pth_hostile_marker'  # what the hostile pickles would create in the current folder


def fixture(name):
  return os.path.join(FIXTURES, name)


def expected_arrays():
  with np.load(fixture('expected.npz')) as npz:
    return collections.OrderedDict((name, npz[name]) for name in npz.files)


def comparable(name, array):
  """bfloat16 as its bits, as expected.npz keeps it."""
  return array.view(np.uint16) if name == 'bfloat16' else array


def assert_same(arrays, expected):
  assert list(arrays) == list(expected)
  for name, array in arrays.items():
    array = comparable(name, array)
    assert (array.dtype, array.shape) == (expected[name].dtype, expected[name].shape), name
    assert np.array_equal(array, expected[name]), name


def refusal(path):
  """The PthError read_state_dict raises for path: one line, naming the file."""
  with pytest.raises(pth.PthError) as raised:
    pth.read_state_dict(path)
  message = str(raised.value)
  assert '\n' not in message and message.startswith(str(path) + ': ')
  assert isinstance(raised.value, ValueError)
  return message[len(str(path)) + 2:]


@pytest.mark.parametrize('name', ['state.pth', 'state_legacy.pth'])
def test_torch_files_come_back_exactly(name):
  arrays = pth.read_state_dict(fixture(name))
  assert_same(arrays, expected_arrays())
  dtypes = {name: str(array.dtype) for name, array in arrays.items()}
  assert dtypes['1.num_batches_tracked'] == 'int64' and arrays['1.num_batches_tracked'].shape == ()
  assert (dtypes['half'], dtypes['double'], dtypes['bfloat16'], dtypes['uint8'],
          dtypes['bool']) == ('float16', 'float64', 'bfloat16', 'uint8', 'bool')
  # a transpose and a slice at a storage offset, as torch sees them, given back contiguous
  assert arrays['transposed'].shape == (4, 3) and arrays['sliced'].shape == (3, 3)
  assert all(array.flags.c_contiguous for array in arrays.values())
  # two keys of one storage: the same numbers, but arrays of their own
  assert arrays['shared_b'].tolist() == [2, 3, 4, 5]
  arrays['shared_a'][0, 2] = -1
  assert arrays['shared_b'][0] == 2


def test_a_state_dict_inside_a_checkpoint_dict(tmp_path):
  expected = expected_arrays()
  arrays = pth.read_state_dict(fixture('nested.pth'))
  assert_same(arrays, collections.OrderedDict(
      (name, expected[name]) for name in ('0.weight', 'half')))
  state = pth.read_state_dict(fixture('state.pth'))
  write_pth(tmp_path / 'model.pth', {'model': state, 'epoch': 3})
  assert_same(pth.read_state_dict(tmp_path / 'model.pth'), expected)


def test_parameters_of_a_module():
  expected = expected_arrays()
  assert_same(pth.read_state_dict(fixture('parameters.pth')), collections.OrderedDict(
      (name, expected[name]) for name in ('0.weight', '0.bias', '1.weight', '1.bias',
                                          '3.weight', '3.bias')))


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_write_pth_files_read_as_torch_files_do(tmp_path, legacy):
  arrays = pth.read_state_dict(fixture('state.pth'))
  path = tmp_path / 'written.pth'
  write_pth(path, arrays, legacy=legacy)
  assert_same(pth.read_state_dict(path), expected_arrays())


def views():
  """Tensors viewing one storage: a transpose, a slice at an offset, a repeat (stride 0)."""
  storage = np.arange(20, dtype=np.float32)
  views = collections.OrderedDict(
      t=View(storage, 0, (5, 4), (1, 5)), s=View(storage, 7, (2, 3), (5, 1)),
      r=View(storage, 19, (2, 2), (0, 0)))
  expected = {name: np.lib.stride_tricks.as_strided(
      storage[v.offset:], v.shape, [s * 4 for s in v.stride]) for name, v in views.items()}
  return views, expected


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_views_of_one_storage(tmp_path, legacy):
  written, expected = views()
  write_pth(tmp_path / 'views.pth', written, legacy=legacy)
  arrays = pth.read_state_dict(tmp_path / 'views.pth')
  assert arrays['t'].tolist() == np.arange(20).reshape(4, 5).T.tolist()
  assert arrays['s'].tolist() == [[7, 8, 9], [12, 13, 14]]
  assert arrays['r'].tolist() == [[19, 19], [19, 19]]
  for name in written:
    assert np.array_equal(arrays[name], expected[name])


def write_slices(path):
  storage = np.arange(10, dtype=np.int64)
  write_pth(path, collections.OrderedDict(
      a=View(storage, 1, (2,), (2,), storage_slice=(4, 6)), b=View(storage, 0, (3,), (1,))),
      legacy=True)


def test_storage_slices_of_old_legacy_files(tmp_path):
  write_slices(tmp_path / 'slices.pth')
  arrays = pth.read_state_dict(tmp_path / 'slices.pth')
  assert arrays['a'].tolist() == [5, 7] and arrays['b'].tolist() == [0, 1, 2]
  storage = np.arange(10, dtype=np.int64)
  write_pth(tmp_path / 'beyond.pth', collections.OrderedDict(
      a=View(storage, 0, (2,), (1,), storage_slice=(8, 3))), legacy=True)
  assert refusal(tmp_path / 'beyond.pth') == 'a storage view beyond its storage 0'


@pytest.mark.parametrize('legacy', [False, True], ids=['zip', 'legacy'])
def test_torch_loads_write_pth_files(tmp_path, legacy):
  torch = pytest.importorskip('torch')
  arrays = pth.read_state_dict(fixture('state.pth'))
  written, expected = views()
  path = tmp_path / 'written.pth'
  write_pth(path, collections.OrderedDict(list(arrays.items()) + list(written.items())),
            legacy=legacy)
  loaded = torch.load(path, weights_only=True)
  assert list(loaded) == list(arrays) + list(written)
  arrays.update(expected)
  for name, tensor in loaded.items():
    if tensor.dtype == torch.bfloat16:
      tensor = tensor.view(torch.int16)
    assert np.array_equal(comparable(name, arrays[name]), tensor.numpy().view(
        comparable(name, arrays[name]).dtype)), name
    assert tuple(tensor.shape) == arrays[name].shape
  assert loaded['t'].untyped_storage().data_ptr() == loaded['s'].untyped_storage().data_ptr()


def test_big_endian_storages(tmp_path):
  arrays = collections.OrderedDict(w=np.arange(-3, 3, dtype=np.float32).reshape(2, 3),
                                   n=np.array(7, np.int64))
  little = tmp_path / 'little.pth'
  write_pth(little, arrays)
  big = tmp_path / 'big.pth'
  swapped = {'archive/byteorder': b'big',
             'archive/data/0': arrays['w'].astype('>f4').tobytes(),
             'archive/data/1': arrays['n'].astype('>i8').tobytes()}
  rewrite_zip(little, big, swapped)
  read = pth.read_state_dict(big)
  assert read['w'].dtype == np.float32 and np.array_equal(read['w'], arrays['w'])
  assert read['n'].dtype == np.int64 and read['n'] == 7


def rewrite_zip(source, target, records):
  """Copies the zip source to target, with records (name -> bytes, or None to leave it out)."""
  with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, 'w') as new:
    for name in old.namelist():
      data = records.get(name, old.read(name))
      if data is not None:
        new.writestr(name, data)


@pytest.mark.parametrize('name, refused', [('hostile.pth', 'posix.system'),
                                           ('hostile_legacy.pth', '__builtin__.eval')])
def test_hostile_pickles_are_refused_before_they_run(tmp_path, monkeypatch, name, refused):
  monkeypatch.chdir(tmp_path)
  message = refusal(fixture(name))
  assert message == 'refusing to unpickle %s: not part of a tensor state dict' % refused
  assert not os.path.exists(MARKER)


def test_only_a_state_dicts_names_are_allowed(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  # a bare pickle (no torch header) of a call
  (tmp_path / 'bare.pth').write_bytes(pickle.dumps(Touch(MARKER), protocol=2))
  assert refusal(tmp_path / 'bare.pth') == (
      'refusing to unpickle io.open: not part of a tensor state dict')
  assert not os.path.exists(MARKER)


class Touch:

  def __init__(self, path):
    self.path = path

  def __reduce__(self):
    return open, (self.path, 'w')


def test_foreign_empty_truncated_and_corrupt_files(tmp_path):
  state = pathlib.Path(fixture('state.pth')).read_bytes()
  legacy = pathlib.Path(fixture('state_legacy.pth')).read_bytes()
  files = {
      'empty': b'',
      'text': b'conv1.weight 1 2 3\n',
      'zip_truncated': state[:len(state) // 2],
      'legacy_truncated': legacy[:-10],
      'legacy_cut_in_pickle': legacy[:200],
      'plain_pickle': pickle.dumps({'a': 1}, protocol=2),
  }
  for name, data in files.items():
    (tmp_path / name).write_bytes(data)
  assert 'empty file' in refusal(tmp_path / 'empty')
  assert 'not a file of torch.save' in refusal(tmp_path / 'text')
  assert 'truncated or corrupt zip' in refusal(tmp_path / 'zip_truncated')
  assert 'truncated (storage' in refusal(tmp_path / 'legacy_truncated')
  assert 'corrupt or truncated pickle' in refusal(tmp_path / 'legacy_cut_in_pickle')
  assert 'not a file of torch.save' in refusal(tmp_path / 'plain_pickle')
  assert refusal(tmp_path / 'absent.pth') == 'no such file'
  assert refusal(tmp_path) == 'not a file'


def test_damaged_records_of_a_zip(tmp_path):
  arrays = collections.OrderedDict(w=np.arange(6, dtype=np.float32), b=np.ones(2, np.float32))
  write_pth(tmp_path / 'ok.pth', arrays)
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'missing.pth', {'archive/data/1': None})
  assert refusal(tmp_path / 'missing.pth') == 'the storage record archive/data/1 is missing'
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'short.pth', {'archive/data/0': b'\0' * 8})
  assert refusal(tmp_path / 'short.pth') == (
      'storage 0 has 8 bytes, its 6 float32 elements need 24')
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'no_pickle.pth', {'archive/data.pkl': None})
  assert 'without data.pkl' in refusal(tmp_path / 'no_pickle.pth')
  # a flipped byte in a storage: the zip's CRC catches it
  data = bytearray((tmp_path / 'ok.pth').read_bytes())
  at = data.index(np.arange(6, dtype=np.float32).tobytes()) + 5
  data[at] ^= 0xff
  (tmp_path / 'flipped.pth').write_bytes(bytes(data))
  assert 'truncated or corrupt zip' in refusal(tmp_path / 'flipped.pth')
  # a record that claims to unpack to 2 GB (as a small compressed one could)
  data = bytearray((tmp_path / 'ok.pth').read_bytes())
  at = data.index(b'PK\x01\x02')  # the central directory: its first entry is data.pkl's
  while data[at + 46:at + 46 + struct.unpack_from('<H', data, at + 28)[0]] != b'archive/data/0':
    at = data.index(b'PK\x01\x02', at + 4)
  struct.pack_into('<I', data, at + 24, 2 << 30)  # its uncompressed size
  (tmp_path / 'bomb.pth').write_bytes(bytes(data))
  assert refusal(tmp_path / 'bomb.pth').startswith(
      'the record archive/data/0 would take 2.0 GB, more than a file of ')
  # a deflated record whose compressed bytes are damaged (zlib's error, not the CRC's)
  with zipfile.ZipFile(tmp_path / 'ok.pth') as old, \
      zipfile.ZipFile(tmp_path / 'deflated.pth', 'w', zipfile.ZIP_DEFLATED) as new:
    for name in old.namelist():
      new.writestr(name, old.read(name) if name != 'archive/data/0' else bytes(4096))
  data = bytearray((tmp_path / 'deflated.pth').read_bytes())
  at = data.index(b'archive/data/0') + len('archive/data/0')
  data[at + 2:at + 12] = b'\xff' * 10
  (tmp_path / 'deflated.pth').write_bytes(bytes(data))
  assert 'truncated or corrupt zip archive (archive/data/0: ' in refusal(
      tmp_path / 'deflated.pth')


def test_values_that_are_not_tensors_are_named(tmp_path):
  write_pth(tmp_path / 'step.pth', collections.OrderedDict(w=np.zeros(2, np.float32), step=3))
  assert refusal(tmp_path / 'step.pth') == "'step' holds a value of type int, not a tensor"
  write_pth(tmp_path / 'nested.pth', {'state_dict': {'w': np.zeros(2, np.float32), 'x': 'y'}})
  assert refusal(tmp_path / 'nested.pth') == "'x' holds a value of type str, not a tensor"
  write_pth(tmp_path / 'ok.pth', collections.OrderedDict(w=np.zeros(2, np.float32)))
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'list.pth', {
      'archive/data.pkl': pickle.dumps([1, 2], protocol=2)})
  assert refusal(tmp_path / 'list.pth') == 'holds a list, not a state dict'


def test_views_beyond_their_storage_or_too_large(tmp_path):
  storage = np.zeros(4, np.float32)
  write_pth(tmp_path / 'beyond.pth', collections.OrderedDict(x=View(storage, 2, (3,), (1,))))
  assert refusal(tmp_path / 'beyond.pth') == "'x' reaches element 4 of a storage of 4"
  write_pth(tmp_path / 'huge.pth', collections.OrderedDict(
      x=View(storage, 0, (1 << 20, 1 << 20), (0, 0))))
  assert refusal(tmp_path / 'huge.pth').startswith(
      "'x' would take 4096.0 GB, more than a file of ")


def test_many_expanded_views_of_a_small_file_are_refused_in_all(tmp_path):
  """Each 256 MB view of one element is allowed alone; the fourth (with the file's records)
  passes the 1 GB a file of 1 KB may take: refused before it is made."""
  storage = np.zeros(1, np.float32)
  write_pth(tmp_path / 'views.pth', collections.OrderedDict(
      (name, View(storage, 0, (1 << 26,), (0,))) for name in 'abcde'))
  assert (tmp_path / 'views.pth').stat().st_size < 2000
  assert refusal(tmp_path / 'views.pth').startswith("'d' would take 256.0 MB, more than a file")


def test_a_legacy_storage_longer_than_its_file_is_refused_before_it_is_read(tmp_path):
  write_pth(tmp_path / 'ok.pth', collections.OrderedDict(w=np.arange(4, dtype=np.float32)),
            legacy=True)
  data = (tmp_path / 'ok.pth').read_bytes()
  at = data.rindex(struct.pack('<q', 4))  # the storage's element count, before its bytes
  (tmp_path / 'long.pth').write_bytes(data[:at] + struct.pack('<q', 1 << 40) + data[at + 8:])
  assert refusal(tmp_path / 'long.pth') == 'truncated (storage 0 has 16 of its 4398046511104 bytes)'


def _opcodes(key=None, size=None, after_tensor=b''):
  """A state dict pickle {key: a float32 tensor of storage '0', offset 0, `size` (4,), stride
  (1,)}, written opcode by opcode (what a hostile file could hold); after_tensor: opcodes run on
  the rebuilt tensor."""
  def text(value):
    return pickle.BINUNICODE + struct.pack('<I', len(value.encode())) + value.encode()

  def number(value):
    return pickle.BININT + struct.pack('<i', value)

  def name(module, attribute):
    return pickle.GLOBAL + ('%s\n%s\n' % (module, attribute)).encode()

  storage = (pickle.MARK + text('storage') + name('torch', 'FloatStorage') + text('0') +
             text('cpu') + number(4) + pickle.TUPLE + pickle.BINPERSID)
  tensor = (name('torch._utils', '_rebuild_tensor_v2') + pickle.MARK + storage + number(0) +
            (size or pickle.MARK + number(4) + pickle.TUPLE) +
            pickle.MARK + number(1) + pickle.TUPLE + pickle.NEWFALSE +
            name('collections', 'OrderedDict') + pickle.EMPTY_TUPLE + pickle.REDUCE +
            pickle.TUPLE + pickle.REDUCE)
  return (pickle.PROTO + b'\x02' + pickle.EMPTY_DICT + (key or text('w')) + tensor +
          after_tensor + pickle.SETITEM + pickle.STOP)


def test_pickles_that_bend_the_stand_ins_are_one_line(tmp_path):
  write_pth(tmp_path / 'ok.pth', collections.OrderedDict(w=np.arange(4, dtype=np.float32)))

  def read(name, opcodes):
    rewrite_zip(tmp_path / 'ok.pth', tmp_path / name, {'archive/data.pkl': opcodes})
    return tmp_path / name

  assert pth.read_state_dict(read('same.pth', _opcodes()))['w'].tolist() == [0, 1, 2, 3]
  change = (pickle.EMPTY_DICT + pickle.BINUNICODE + struct.pack('<I', 7) + b'storage' +
            pickle.BININT1 + b'\x05' + pickle.SETITEM + pickle.BUILD)
  assert refusal(read('build.pth', _opcodes(after_tensor=change))) == (
      'a corrupt or truncated pickle (a pickle that changes a TensorRef)')
  huge = pickle.encode_long(10 ** 5000)
  huge = pickle.LONG4 + struct.pack('<I', len(huge)) + huge
  for size in (pickle.MARK + pickle.NEWTRUE + pickle.TUPLE, pickle.MARK + huge + pickle.TUPLE):
    assert refusal(read('size.pth', _opcodes(size=size))) == (
        'a corrupt or truncated pickle (a tensor with a malformed shape, stride or offset)')
  assert refusal(read('key.pth', _opcodes(key=huge))) == 'a state dict with a key of type int'


def test_torch_reads_storage_slices_as_this_reader_does(tmp_path):
  torch = pytest.importorskip('torch')
  write_slices(tmp_path / 'slices.pth')
  loaded = torch.load(tmp_path / 'slices.pth', weights_only=True)
  assert {name: t.tolist() for name, t in loaded.items()} == {'a': [5, 7], 'b': [0, 1, 2]}


def test_names_of_older_torch_files(tmp_path):
  # torch < 0.4 rebuilt tensors with _rebuild_tensor; files saved on a GPU name torch.cuda's
  # storage classes
  write_pth(tmp_path / 'ok.pth', collections.OrderedDict(w=np.arange(3, dtype=np.float32)))
  with zipfile.ZipFile(tmp_path / 'ok.pth') as archive:
    data = archive.read('archive/data.pkl')
  for old, new in ((b'\n_rebuild_tensor_v2\n', b'\n_rebuild_tensor\n'),
                   (b'ctorch\nFloatStorage\n', b'ctorch.cuda\nFloatStorage\n')):
    assert old in data
    data = data.replace(old, new)
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'old.pth', {'archive/data.pkl': data})
  assert pth.read_state_dict(tmp_path / 'old.pth')['w'].tolist() == [0, 1, 2]


def test_dtypes_of_rebuild_tensor_v3_are_refused():
  assert refusal(fixture('uint16.pth')).startswith(
      'has tensors of a dtype that torch saves with _rebuild_tensor_v3 (uint16, ')


def test_a_file_cannot_change_what_the_next_file_reads(tmp_path):
  # BUILD on the object torch.FloatStorage stands for, to make it int64 for every later file
  poison = (b'\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeX\x05\x00\x00\x00int64sb.')
  arrays = collections.OrderedDict(w=np.zeros(2, np.float32))
  write_pth(tmp_path / 'ok.pth', arrays)
  rewrite_zip(tmp_path / 'ok.pth', tmp_path / 'poison.pth', {'archive/data.pkl': poison})
  assert 'corrupt or truncated pickle' in refusal(tmp_path / 'poison.pth')
  assert pth.read_state_dict(tmp_path / 'ok.pth')['w'].dtype == np.float32
