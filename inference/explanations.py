"""predict_alexnet.py --explain=DIR: one Grad-CAM picture per classified photo, saved as PNG."""
import os

import numpy as np
from PIL import Image

import base
from pictures import lettering
from pictures import overlays

# Bytes of a picture's stem: room for '-N.png' and the temporary name's additions in the 255
# bytes a file name may have.
STEM_BYTES = 200


def _cut(stem):
  """stem cut to STEM_BYTES (as the file system counts them, whole characters)."""
  encoded = stem.encode('utf-8', 'surrogateescape')
  if len(encoded) <= STEM_BYTES:
    return stem
  return encoded[:STEM_BYTES].decode('utf-8', 'ignore')


class Writer:
  """Saves DIR/<photo name>.png, each written to a temporary file and renamed. Nothing is written
  over: a name taken by another photo of the run or by a file already there (a photo, an
  earlier run's picture, anything) gets <name>-2.png, -3, ..."""

  def __init__(self, folder, class_names):
    self.folder = folder
    self.class_names = lettering.class_name_list(class_names, len(class_names))  # drawable
    self._taken = set()
    self._next = {}  # stem -> the number to try next
    os.makedirs(folder, exist_ok=True)

  def _free(self, name):
    return name not in self._taken and not os.path.lexists(os.path.join(self.folder, name))

  def _filename(self, photo_path):
    stem = _cut(os.path.splitext(os.path.basename(photo_path))[0]) or 'photo'
    name, number = stem + '.png', self._next.get(stem, 1)
    if number > 1 or not self._free(name):
      number = max(number, 2)
      name = '%s-%d.png' % (stem, number)
      while not self._free(name):
        number += 1
        name = '%s-%d.png' % (stem, number)
    self._next[stem] = number + 1
    self._taken.add(name)
    return os.path.join(self.folder, name)

  def write(self, photo_path, image, heat, probabilities):
    """The picture of one photo: image (uint8 pixels of what the net saw), heat [H, W] of the top
    class."""
    top = int(np.argmax(probabilities))
    picture = overlays.overlay(image, heat, self.class_names[top], probabilities[top])
    path = self._filename(photo_path)
    with base.atomic_path(path) as tmp:
      Image.fromarray(picture).save(tmp, format='PNG')
    return path
