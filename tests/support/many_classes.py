"""A converted dataset of many classes of tiny photos, one colour a class, made with the
converter itself: for the bounds of what evaluation shows of hundreds of classes."""
import colorsys
import os
import tempfile
import zlib

from datasets.convert import writer
from support.dataset_helpers import jpeg_bytes


def class_colour(label, num_classes):
  """A colour of its own per class: hues around the wheel, in three levels of brightness."""
  r, g, b = colorsys.hsv_to_rgb(label / num_classes, 0.8, (0.5, 0.75, 1.0)[label % 3])
  return int(r * 255), int(g * 255), int(b * 255)


def write_many_classes_dataset(dataset_dir, num_classes, per_class, num_validation, size=24,
                               dataset_name='many'):
  """Converts num_classes classes (`class_0007`, ...) of per_class photos of size x size pixels
  into dataset_dir (shards <dataset_name>_*, labels.txt, manifest.json); returns the class
  names."""
  names = ['class_%04d' % i for i in range(num_classes)]
  with tempfile.TemporaryDirectory() as photos_dir:
    for label, name in enumerate(names):
      os.makedirs(os.path.join(photos_dir, name))
      for i in range(per_class):
        filename = os.path.join(name, '%s_%d.jpg' % (name, i))
        with open(os.path.join(photos_dir, filename), 'wb') as f:
          f.write(jpeg_bytes(size, size, class_colour(label, num_classes),
                             seed=zlib.crc32(filename.encode())))
    writer.convert_photos(photos_dir, dataset_dir, dataset_name=dataset_name,
                          num_validation=num_validation, num_shards=2, num_workers=1)
  return names
