"""What a run wrote, read back without TensorFlow: the summaries of its event files (how many
tags of each kind, the largest image and text) and its files (how many, how large, the largest
picture). Event files are TFRecord files of tensorboard's Event protos; a torn last record (a
writer still open) ends the reading of that file."""
import collections
import io
import os
import struct

from PIL import Image
from tensorboard.compat.proto import event_pb2

EVENTS_MARK = 'tfevents'


def event_files(folder, recursive=True):
  """The event files in folder (and its subfolders), sorted."""
  found = []
  for root, dirs, files in os.walk(folder):
    found.extend(os.path.join(root, name) for name in files if EVENTS_MARK in name)
    if not recursive:
      break
    dirs.sort()
  return sorted(found)


def read_events(path):
  """The Event protos of one event file, in order."""
  with open(path, 'rb') as f:
    while True:
      header = f.read(12)  # length (uint64) and its masked CRC (uint32)
      if len(header) < 12:
        return
      (length,) = struct.unpack('<Q', header[:8])
      data = f.read(length)
      if len(data) < length or len(f.read(4)) < 4:
        return
      yield event_pb2.Event.FromString(data)


def kind(value):
  """'scalar', 'image', 'histogram', 'audio', or the plugin of a tensor value ('text', 'hparams',
  'pr_curves', ...; 'tensor' without one)."""
  field = value.WhichOneof('value')
  if field == 'simple_value':
    return 'scalar'
  if field == 'histo':
    return 'histogram'
  if field in ('image', 'audio'):
    return field
  plugin = value.metadata.plugin_data.plugin_name
  if plugin == 'scalars':
    return 'scalar'
  return plugin or 'tensor'


def _image_size(image):
  """(height, width) of a Summary.Image: its fields, else the encoded picture's header."""
  if image.height and image.width:
    return image.height, image.width
  with Image.open(io.BytesIO(image.encoded_image_string)) as picture:
    return picture.height, picture.width


def _text_bytes(value):
  return sum(len(s) for s in value.tensor.string_val) or value.tensor.ByteSize()


def summary_figures(folder, recursive=True):
  """The summaries of folder's event files: tags of each kind ({kind: count of distinct tags}),
  the largest image (its longest side, [height, width] and tag), the largest text (bytes, tag),
  the event files' bytes, and the scalar tags."""
  tags = collections.defaultdict(set)
  image = {'largest_image_side': 0, 'largest_image': None, 'largest_image_tag': ''}
  text = {'largest_text_bytes': 0, 'largest_text_tag': ''}
  files = event_files(folder, recursive)
  for path in files:
    for event in read_events(path):
      for value in event.summary.value:
        what = kind(value)
        tags[what].add(value.tag)
        if what == 'image':
          height, width = _image_size(value.image)
          if max(height, width) > image['largest_image_side']:
            image.update(largest_image_side=max(height, width), largest_image=[height, width],
                         largest_image_tag=value.tag)
        elif what == 'text' and _text_bytes(value) > text['largest_text_bytes']:
          text.update(largest_text_bytes=_text_bytes(value), largest_text_tag=value.tag)
  figures = {'tags': {k: len(v) for k, v in sorted(tags.items())},
             'event_bytes': sum(os.path.getsize(p) for p in files),
             'scalar_tags': sorted(tags['scalar'])}
  figures.update(image)
  figures.update(text)
  return figures


def _picture_size(path):
  try:
    with Image.open(path) as picture:
      return picture.height, picture.width
  except (OSError, ValueError, Image.DecompressionBombError):
    return None


def file_figures(folder, recursive=True, largest=10):
  """The files in folder: how many, their bytes, the `largest` largest ([relative path, bytes]),
  and the largest side of a PNG among them ([relative path, height, width])."""
  sizes, picture = {}, None
  for root, dirs, files in os.walk(folder):
    for name in files:
      path = os.path.join(root, name)
      if os.path.islink(path) or not os.path.isfile(path):
        continue
      relative = os.path.relpath(path, folder)
      sizes[relative] = os.path.getsize(path)
      if name.lower().endswith('.png'):
        size = _picture_size(path)
        if size and (picture is None or max(size) > max(picture[1:])):
          picture = [relative, size[0], size[1]]
    if not recursive:
      break
  return {'files': len(sizes), 'file_bytes': sum(sizes.values()),
          'largest_files': sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:largest],
          'largest_png': picture}
