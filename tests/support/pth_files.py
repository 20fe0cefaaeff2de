"""Writes .pth files as torch.save does, without torch, so tests can make state dicts of any size.

write_pth(path, arrays) writes torch's zip format (`archive/data.pkl`, `archive/data/<key>`,
`archive/byteorder`, `archive/version`); legacy=True the stream of
`_use_new_zipfile_serialization=False`. Each array gets its own storage, contiguous. The pickle
names torch's globals (torch._utils._rebuild_tensor_v2, torch.FloatStorage, ...) as torch writes
them; the pure-Python pickler writes these names without importing them. A value may also be a
View of a storage array (an offset, a shape and strides in elements, as torch's tensors); views of
one array share its storage; legacy files may also slice a storage (storage_slice), as torch < 0.4
did.

random_state_dict(seed) makes the state dict of torchvision's AlexNet with random weights.
"""
import collections
import io
import pickle
import struct
import zipfile

import numpy as np

from pretrained import torchvision_alexnet

_MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
_PROTOCOL_VERSION = 1001

_STORAGE_NAMES = {
    'float32': 'FloatStorage', 'float64': 'DoubleStorage', 'float16': 'HalfStorage',
    'bfloat16': 'BFloat16Storage', 'int64': 'LongStorage', 'int32': 'IntStorage',
    'int16': 'ShortStorage', 'int8': 'CharStorage', 'uint8': 'ByteStorage', 'bool': 'BoolStorage',
}


class _Global:
  """A module.name the pickle refers to, written as a GLOBAL opcode."""

  def __init__(self, module, name):
    self.module, self.name = module, name

  def __call__(self, *args):  # the pickler only writes what it must be able to call
    raise TypeError('%s.%s is written, never called' % (self.module, self.name))


class View:
  """A tensor that views `storage` (a numpy array, flattened) from `offset` with `shape` and
  `stride` (in elements), as torch's non-contiguous or shared tensors do. storage_slice=(start,
  numel): the tensor views that slice of the storage instead, offset counting from its start
  (the legacy format's storage views)."""

  def __init__(self, storage, offset, shape, stride, storage_slice=None):
    self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
    self.storage_slice = storage_slice


class _StorageSlice:

  def __init__(self, storage, start, numel):
    self.storage, self.start, self.numel = storage, start, numel


class _Storage:

  def __init__(self, key, array):
    self.key, self.array = key, _little_endian(array).reshape(-1)


class _Tensor:

  def __init__(self, storage, offset, shape, stride):
    self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride

  def __reduce__(self):
    return (_Global('torch._utils', '_rebuild_tensor_v2'),
            (self.storage, self.offset, tuple(self.shape), tuple(self.stride), False,
             collections.OrderedDict()))


class _Pickler(pickle._Pickler):  # pylint: disable=protected-access
  """Protocol 2, as torch.save; storages go out of band as persistent ids."""

  dispatch = dict(pickle._Pickler.dispatch)  # pylint: disable=protected-access

  def __init__(self, file, legacy):
    super().__init__(file, protocol=2)
    self._legacy = legacy

  def save_marker(self, obj):
    self.write(pickle.GLOBAL + ('%s\n%s\n' % (obj.module, obj.name)).encode('ascii'))
    self.memoize(obj)

  dispatch[_Global] = save_marker

  def persistent_id(self, obj):
    view = None
    if isinstance(obj, _StorageSlice):
      if not self._legacy:
        raise ValueError('storage slices exist only in the legacy format')
      view = ('%s.%d.%d' % (obj.storage.key, obj.start, obj.numel), obj.start, obj.numel)
      obj = obj.storage
    if not isinstance(obj, _Storage):
      return None
    storage_type = _Global('torch', _STORAGE_NAMES[obj.array.dtype.name])
    pid = ('storage', storage_type, obj.key, 'cpu', obj.array.size)
    return pid + (view,) if self._legacy else pid


def _pickle(obj, legacy):
  buffer = io.BytesIO()
  _Pickler(buffer, legacy).dump(obj)
  return buffer.getvalue()


def _little_endian(array):
  array = np.array(array, order='C')  # (ascontiguousarray would make a 0-d array 1-d)
  if array.dtype.byteorder == '>':
    array = array.astype(array.dtype.newbyteorder('<'))
  return array


def _tensors(values, storages):
  """values with each array or View made a _Tensor (dicts within, too); storages: id -> _Storage,
  with the storage array kept alive, so no id is reused."""
  state = collections.OrderedDict()
  for name, value in values.items():
    if isinstance(value, dict):
      state[name] = _tensors(value, storages)
      continue
    if isinstance(value, (int, float, str)):
      state[name] = value
      continue
    if not isinstance(value, View):
      array = np.asarray(value)
      value = View(array, 0, array.shape, [s // array.itemsize for s in
                                           _little_endian(array).strides])
    key = id(value.storage)
    if key not in storages:
      storages[key] = _Storage(str(len(storages)), value.storage), value.storage
    storage = storages[key][0]
    if value.storage_slice is not None:
      storage = _StorageSlice(storage, *value.storage_slice)
    state[name] = _Tensor(storage, value.offset, value.shape, value.stride)
  return state


def write_pth(path, arrays, legacy=False):
  """Writes `arrays` (an OrderedDict name -> numpy array or View) as a torch state dict at path.
  Values may also be dicts of the same (a checkpoint, {'state_dict': {...}}) or numbers."""
  storages = {}
  state = _tensors(arrays, storages)
  storages = [storage for storage, unused_original in storages.values()]
  if legacy:
    with open(path, 'wb') as f:
      for header in (_MAGIC_NUMBER, _PROTOCOL_VERSION,
                     {'protocol_version': _PROTOCOL_VERSION, 'little_endian': True,
                      'type_sizes': {'short': 2, 'int': 4, 'long': 4}}):
        pickle.dump(header, f, protocol=2)
      f.write(_pickle(state, legacy=True))
      by_key = sorted(storages, key=lambda s: s.key)
      pickle.dump([s.key for s in by_key], f, protocol=2)
      for storage in by_key:
        f.write(struct.pack('<q', storage.array.size))
        f.write(storage.array.view(np.uint8))  # (its bytes, not a copy of them)
    return
  with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
    archive.writestr('archive/data.pkl', _pickle(state, legacy=False))
    archive.writestr('archive/byteorder', 'little')
    for storage in storages:
      archive.writestr('archive/data/' + storage.key, storage.array.view(np.uint8))
    archive.writestr('archive/version', '3\n')


def random_state_dict(seed=0):
  """torchvision AlexNet shapes, He-scaled random weights (activations stay of order 1). In
  float32 throughout: 61M float64 products and their cast took 4 times as long."""
  rng = np.random.default_rng(seed)
  state = {}
  for key, shape in torchvision_alexnet.expected_shapes().items():
    if key.endswith('.weight'):
      fan_in = int(np.prod(shape[1:]))
      state[key] = rng.standard_normal(shape, np.float32)
      state[key] *= np.float32(np.sqrt(2.0 / fan_in))
    else:
      state[key] = rng.uniform(-0.1, 0.1, shape).astype(np.float32)
  return state
