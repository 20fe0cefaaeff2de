"""Reads a state dict saved by torch.save (a .pth file) into numpy arrays, without torch.

Both formats of torch.save are read: the zip archive of current torch (`<root>/data.pkl`, one
record `<root>/data/<key>` per storage, `<root>/byteorder`) and the legacy stream
(`_use_new_zipfile_serialization=False`, and files of torch < 1.6: the magic number, the protocol
version, the system info, the pickle, the storage keys, then each storage's element count and
bytes).

A .pth is a pickle, and a pickle can call anything. The unpickler here resolves only the names a
tensor state dict needs (collections.OrderedDict, torch's tensor rebuild functions, its storage
classes), each to a stand-in of this module; any other name refuses the file before anything of
it runs.
"""
import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np

import base


class PthError(base.UserError, ValueError):
  """A file that is not a readable tensor state dict: one line naming the file."""


_MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
_PROTOCOL_VERSION = 1001
# The most the reader holds (zip records, then the arrays, each counted), as a multiple of the
# file's size, at least 1 GB: torch's expanded tensors (stride 0) are larger than their storage,
# but a state dict's are not 16 times larger than the file; a hostile file might ask for any size.
_LARGEST_EXPANSION = 16
# Sizes, strides and offsets of tensors and storages are ints below this (256 TB of elements).
_LARGEST_COUNT = 1 << 48


def _largest(file_size):
  return max(_LARGEST_EXPANSION * file_size, 1 << 30)


class _Budget:
  """The bytes the reader may still allocate for one file; refuses the file past them."""

  def __init__(self, path):
    self.path, self.file_size = path, os.path.getsize(path)
    self.left = _largest(self.file_size)

  def take(self, nbytes, what):
    if nbytes > self.left:
      raise PthError('%s: %s would take %s, more than a file of %s can hold' % (
          self.path, what, base.format_bytes(nbytes), base.format_bytes(self.file_size)))
    self.left -= nbytes


def _count(value):
  """True for an int (not a bool) in [0, _LARGEST_COUNT)."""
  return type(value) is int and 0 <= value < _LARGEST_COUNT  # pylint: disable=unidiomatic-typecheck

# torch's storage class names (torch.<name>, or torch.cuda.<name> in old files) -> numpy dtype.
_STORAGE_DTYPES = {
    'FloatStorage': 'float32',
    'DoubleStorage': 'float64',
    'HalfStorage': 'float16',
    'BFloat16Storage': 'bfloat16',
    'LongStorage': 'int64',
    'IntStorage': 'int32',
    'ShortStorage': 'int16',
    'CharStorage': 'int8',
    'ByteStorage': 'uint8',
    'BoolStorage': 'bool',
}


def _numpy_dtype(name, path):
  if name == 'bfloat16':
    try:
      import ml_dtypes  # pylint: disable=import-outside-toplevel
    except ImportError:
      raise PthError('%s: has bfloat16 tensors, which need the ml_dtypes package (pip install '
                     'ml_dtypes)' % path) from None
    return np.dtype(ml_dtypes.bfloat16)
  return np.dtype(name)


class _Sealed:
  """A stand-in a pickle can't change: BUILD (its __setstate__) refuses the file."""
  __slots__ = ()

  def __setstate__(self, state):
    raise pickle.UnpicklingError('a pickle that changes a %s' % type(self).__name__.strip('_'))


class _StorageType(_Sealed):
  """What torch.FloatStorage (and the like) stands for in a pickle: a dtype."""
  __slots__ = ('name', 'dtype')

  def __init__(self, name):
    self.name = name
    self.dtype = _STORAGE_DTYPES[name]


class _Storage(_Sealed):
  """A storage named in the pickle; its bytes are read after the pickle."""
  __slots__ = ('key', 'dtype', 'numel')

  def __init__(self, key, dtype, numel):
    self.key, self.dtype, self.numel = key, dtype, numel


class _TensorRef(_Sealed):
  """A tensor of the pickle: a view (offset, size, stride, in elements) of a storage."""
  __slots__ = ('storage', 'offset', 'size', 'stride')

  def __init__(self, storage, offset, size, stride):
    self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(storage, storage_offset, size, stride, *unused_args):
  if not isinstance(storage, _Storage):
    raise pickle.UnpicklingError('a tensor without a storage')
  if not (isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list))
          and len(size) == len(stride) <= 32 and all(map(_count, tuple(size) + tuple(stride)))
          and _count(storage_offset)):
    raise pickle.UnpicklingError('a tensor with a malformed shape, stride or offset')
  return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


def _rebuild_parameter(data, unused_requires_grad=False, *unused_args):
  return data


class _Call(_Sealed):
  """An allowed function, wrapped anew for each lookup: a pickle can't reach the function itself
  (its defaults, say)."""
  __slots__ = ('func',)

  def __init__(self, func):
    self.func = func

  def __call__(self, *args):
    return self.func(*args)


_FUNCTIONS = {
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}


def _allowed(module, name):
  """A new object for an allowed global (so no file can change what the next one gets), or None."""
  if (module, name) == ('collections', 'OrderedDict'):
    return collections.OrderedDict  # a built-in type: its attributes can't be set
  if (module, name) in _FUNCTIONS:
    return _Call(_FUNCTIONS[(module, name)])
  if module in ('torch', 'torch.cuda') and name in _STORAGE_DTYPES:
    return _StorageType(name)
  return None


class _Refused(pickle.UnpicklingError):
  pass


class _Unpickler(pickle.Unpickler):
  """Resolves only _allowed names; storages become _Storage, read later by the caller."""

  def __init__(self, file, storages, view_storages=False):
    super().__init__(file, encoding='latin1')
    self._storages = storages  # key -> _Storage, shared by all tensors of the file
    self._view_storages = view_storages

  def find_class(self, module, name):
    if (module, name) == ('torch._utils', '_rebuild_tensor_v3'):
      raise _Refused('has tensors of a dtype that torch saves with _rebuild_tensor_v3 (uint16, '
                     'uint32, uint64, float8...), which this reader does not support')
    found = _allowed(module, name)
    if found is None:
      raise _Refused('refusing to unpickle %s.%s: not part of a tensor state dict'
                     % (module, name))
    return found

  def persistent_load(self, pid):
    if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] in ('storage', b'storage')
            and isinstance(pid[1], _StorageType)):
      raise pickle.UnpicklingError('an unknown persistent id %.60r' % (pid,))
    storage_type, key, unused_location, numel = pid[1:5]
    key = _key(key)
    if not _count(numel):
      raise pickle.UnpicklingError('a storage with a malformed element count')
    storage = self._storages.get(key)
    if storage is None:
      storage = self._storages[key] = _Storage(key, storage_type.dtype, numel)
    elif storage.dtype != storage_type.dtype:
      raise pickle.UnpicklingError('storage %s read as both %s and %s'
                                   % (key, storage.dtype, storage_type.dtype))
    view = pid[5] if len(pid) == 6 else None
    if view is not None:  # torch < 0.4's storage views: (view key, offset, size)
      if not self._view_storages:
        raise pickle.UnpicklingError('a storage view in a zip archive')
      unused_view_key, offset, view_size = view
      if not (_count(offset) and _count(view_size)):
        raise pickle.UnpicklingError('a storage view with a malformed offset or size')
      return _StorageView(storage, offset, view_size)
    return storage


def _key(key):
  """A storage key of the pickle (str, or bytes of old files) as a str."""
  if isinstance(key, bytes):
    key = key.decode('ascii')  # (a UnicodeDecodeError: a corrupt pickle)
  if not isinstance(key, str) or len(key) > 100:
    raise pickle.UnpicklingError('a malformed storage key')
  return key


class _StorageView(_Storage):
  """A slice of another storage (old legacy files)."""
  __slots__ = ('base', 'view_offset')

  def __init__(self, base_storage, offset, numel):
    super().__init__(base_storage.key, base_storage.dtype, numel)
    self.base, self.view_offset = base_storage, offset


def _unpickle(path, file, storages, view_storages=False):
  try:
    return _Unpickler(file, storages, view_storages).load()
  except _Refused as e:
    raise PthError('%s: %s' % (path, e)) from None
  except _CORRUPT as e:
    raise PthError('%s: a corrupt or truncated pickle (%s)'
                   % (path, base.first_line(e, 200))) from None


# What a corrupt or hostile pickle can make the unpickler (or numpy, given its values) raise.
_CORRUPT = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, OverflowError, struct.error, UnicodeDecodeError, MemoryError,
            RecursionError)


def _zip_records(path):
  """(root, archive) of a torch zip: the folder that holds data.pkl."""
  try:
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
  except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as e:
    raise PthError('%s: a truncated or corrupt zip archive (%s)'
                   % (path, base.first_line(e, 200))) from None
  pickles = [n for n in names if n.count('/') == 1 and n.endswith('/data.pkl')]
  if not pickles:
    archive.close()
    if any(n.endswith('/constants.pkl') for n in names):
      raise PthError('%s: a TorchScript archive (torch.jit.save), not a state dict saved by '
                     'torch.save' % path)
    raise PthError('%s: a zip archive without data.pkl: not a file of torch.save' % path)
  if len(pickles) > 1:
    archive.close()
    raise PthError('%s: a zip archive with %d data.pkl records' % (path, len(pickles)))
  return pickles[0][:-len('data.pkl')], archive


def _read_record(path, archive, name, budget):
  try:
    size = archive.getinfo(name).file_size
  except KeyError:
    raise PthError('%s: the storage record %s is missing' % (path, name)) from None
  budget.take(size, 'the record %s' % name)  # a compressed record could claim any size
  try:
    return archive.read(name)
  except Exception as e:  # pylint: disable=broad-except  # zlib, lzma, encryption, CRC, ...
    raise PthError('%s: a truncated or corrupt zip archive (%s: %s)'
                   % (path, name, base.first_line(e, 200))) from None


def _read_zip(path, budget):
  root, archive = _zip_records(path)
  with archive:
    byteorder = 'little'
    if root + 'byteorder' in archive.namelist():
      byteorder = _read_record(path, archive, root + 'byteorder', budget).decode('ascii',
                                                                                 'replace')
      if byteorder not in ('little', 'big'):
        raise PthError('%s: an unknown byteorder record %.20r' % (path, byteorder))
    storages = {}
    obj = _unpickle(path, io.BytesIO(_read_record(path, archive, root + 'data.pkl', budget)),
                    storages)
    data = {key: _read_record(path, archive, root + 'data/' + key, budget) for key in storages}
  return obj, data, byteorder


def _read_legacy(path, f):
  header = _unpickle(path, f, {})
  if header != _MAGIC_NUMBER:
    raise PthError('%s: not a file of torch.save (neither a zip archive nor the legacy magic '
                   'number)' % path)
  version = _unpickle(path, f, {})
  if version != _PROTOCOL_VERSION:
    raise PthError('%s: an unknown legacy protocol version %s' % (
        path, '%.20r' % (version,) if _count(version) else 'of type %s' % type(version).__name__))
  sys_info = _unpickle(path, f, {})
  little = sys_info.get('little_endian', True) if isinstance(sys_info, dict) else True
  storages = {}
  obj = _unpickle(path, f, storages, view_storages=True)
  keys = _unpickle(path, f, {})
  if not isinstance(keys, list):
    raise PthError('%s: a corrupt legacy file (no list of storage keys after the pickle)' % path)
  data = {}
  order = '<' if little else '>'
  for key in keys:
    try:
      key = _key(key)
    except (pickle.UnpicklingError, UnicodeDecodeError):
      raise PthError('%s: a corrupt legacy file (a malformed storage key)' % path) from None
    if key not in storages:
      raise PthError('%s: a corrupt legacy file (storage %s is not in the pickle)' % (path, key))
    size = f.read(8)
    if len(size) < 8:
      raise PthError('%s: truncated (storage %s is missing)' % (path, key))
    numel, = struct.unpack(order + 'q', size)
    if numel < 0:
      raise PthError('%s: a corrupt legacy file (storage %s of %d elements)' % (path, key, numel))
    nbytes = numel * _numpy_dtype(storages[key].dtype, path).itemsize
    left = os.fstat(f.fileno()).st_size - f.tell()
    if nbytes > left:  # (read only what the file holds)
      raise PthError('%s: truncated (storage %s has %d of its %d bytes)'
                     % (path, key, left, nbytes))
    data[key] = f.read(nbytes)
  missing = sorted(set(storages) - set(data))
  if missing:
    raise PthError('%s: the storage %s is missing' % (path, missing[0]))
  return obj, data, 'little' if little else 'big'


def _storage_array(path, storage, data, byteorder, cache):
  """The elements of a storage as a flat numpy array (native byte order)."""
  if isinstance(storage, _StorageView):
    whole = _storage_array(path, storage.base, data, byteorder, cache)
    if storage.view_offset + storage.numel > whole.size:
      raise PthError('%s: a storage view beyond its storage %s' % (path, storage.key))
    return whole[storage.view_offset:storage.view_offset + storage.numel]
  if storage.key not in cache:
    dtype = _numpy_dtype(storage.dtype, path)
    raw = data[storage.key]
    if len(raw) < storage.numel * dtype.itemsize:
      raise PthError('%s: storage %s has %d bytes, its %d %s elements need %d'
                     % (path, storage.key, len(raw), storage.numel, storage.dtype,
                        storage.numel * dtype.itemsize))
    array = np.frombuffer(raw, dtype=dtype.newbyteorder('<' if byteorder == 'little' else '>'),
                          count=storage.numel)
    cache[storage.key] = array.astype(dtype, copy=False)
  return cache[storage.key]


def _tensor_array(path, name, ref, data, byteorder, cache, budget):
  flat = _storage_array(path, ref.storage, data, byteorder, cache)
  size, stride, offset = ref.size, ref.stride, ref.offset  # (ints: _rebuild_tensor)
  if int(np.prod([max(n, 1) for n in size], dtype=object)) >= _LARGEST_COUNT:
    raise PthError('%s: %.100r has a malformed shape' % (path, name))
  budget.take(int(np.prod(size, dtype=object)) * flat.itemsize, repr(name))  # stride 0 repeats
  if 0 in size:
    return np.zeros(size, dtype=flat.dtype)
  last = offset + sum((n - 1) * s for n, s in zip(size, stride))
  if last >= flat.size:
    raise PthError('%s: %.100r reaches element %d of a storage of %d'
                   % (path, name, last, flat.size))
  view = np.lib.stride_tricks.as_strided(
      flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride], writeable=False)
  return np.array(view, copy=True, order='C')


def _state_dict(path, obj):
  """The dict of tensors in obj: obj itself, or its 'state_dict' or 'model' entry."""
  if not isinstance(obj, dict):
    raise PthError('%s: holds a %s, not a state dict' % (path, type(obj).__name__))
  if not any(isinstance(v, _TensorRef) for v in obj.values()):
    for key in ('state_dict', 'model'):
      if isinstance(obj.get(key), dict):
        return obj[key]
  return obj


def read_state_dict(path):
  """OrderedDict name -> numpy array of the state dict torch.save wrote to `path`, in its order.

  Arrays are C-contiguous copies with torch's shapes, dtypes and values (non-contiguous tensors
  as torch sees them). Raises PthError (one line) for anything else; OSError if the file can't
  be read."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise PthError('%s: %s' % (path, 'not a file' if os.path.exists(path) else 'no such file'))
  budget = _Budget(path)
  with open(path, 'rb') as f:
    start = f.read(4)
    if not start:
      raise PthError('%s: an empty file, not a file of torch.save' % path)
    if start.startswith(b'PK'):
      obj, data, byteorder = _read_zip(path, budget)
    elif start[:1] == b'\x80':
      f.seek(0)
      obj, data, byteorder = _read_legacy(path, f)
    else:
      raise PthError('%s: not a file of torch.save (neither a zip archive nor a pickle)' % path)
  state = _state_dict(path, obj)
  cache = {}
  arrays = collections.OrderedDict()
  for name, value in state.items():
    if not isinstance(name, str):
      raise PthError('%s: a state dict with a key of type %s' % (path, type(name).__name__))
    if not isinstance(value, _TensorRef):
      raise PthError('%s: %.100r holds a value of type %s, not a tensor'
                     % (path, name, type(value).__name__))
    try:
      arrays[name] = _tensor_array(path, name, value, data, byteorder, cache, budget)
    except PthError:
      raise
    except _CORRUPT as e:  # what the checks above did not foresee: still one line
      raise PthError('%s: %.100r is malformed (%s)'
                     % (path, name, base.first_line(e, 200))) from None
  if not arrays:
    raise PthError('%s: a state dict without tensors' % path)
  return arrays
