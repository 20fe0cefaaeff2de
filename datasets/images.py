"""Checks one photo file and returns JPEG bytes that tf.io.decode_jpeg(channels=3) can decode.

An 8-bit RGB JPEG (baseline, extended or progressive Huffman coding) is kept byte for byte.
Anything else Pillow can decode (CMYK or grayscale JPEG, PNG, GIF, BMP, WebP, also when misnamed
.jpg; palette, 16-bit, alpha) is re-encoded as an RGB JPEG at quality 95: alpha is composited
on white, 16-bit samples are scaled to 8 bits, an animated image gives its first frame. A file
that cannot be decoded, or has more pixels than allowed, is skipped with a reason; a file is
identified from its header before it is read, and one larger than any photo within the pixel limit
could be (max_file_bytes) is skipped unread. A photo with
an EXIF orientation (a phone held sideways) is turned upright and re-encoded, since
tf.io.decode_jpeg ignores EXIF.

Pure Pillow and numpy (no TensorFlow): it runs in worker processes.
"""
import collections
import contextlib
import io
import os
import signal
import stat
import warnings

import numpy as np
from PIL import Image
from PIL import ImageOps

# Pillow's own default Image.MAX_IMAGE_PIXELS; a larger max_pixels raises Pillow's limit to it.
DEFAULT_MAX_PIXELS = 89478485
JPEG_QUALITY = 95
# The most bytes a pixel takes in a file Pillow reads (16-bit RGBA, stored uncompressed), and room
# for what a file holds beside its pixels (EXIF, ICC profile, XMP, thumbnails, an MPO's previews).
MAX_BYTES_PER_PIXEL = 8
FILE_HEADROOM = 64 * 2 ** 20

EMPTY = 'empty file'
NOT_AN_IMAGE = 'not an image'
CORRUPT = 'truncated or corrupt image'
OVER_PIXEL_LIMIT = 'over pixel limit'
UNREADABLE = 'cannot read file'
NOT_REGULAR = 'not a regular file'
FILE_TOO_LARGE = 'file too large'
UNSUPPORTED_MODE = 'unsupported image mode'
ROTATED = 'turned upright'
EXIF_ORIENTATION = 0x0112  # The EXIF tag: how the stored pixels must be turned to stand upright.

_JPEG_FORMATS = ('JPEG', 'MPO')  # MPO: a camera JPEG with extra pictures appended.
_EXTENSIONS = {'JPEG': ('.jpg', '.jpeg', '.jpe', '.jfif'), 'MPO': ('.jpg', '.jpeg', '.mpo'),
               'PNG': ('.png',), 'GIF': ('.gif',), 'BMP': ('.bmp', '.dib'), 'WEBP': ('.webp',),
               'TIFF': ('.tif', '.tiff')}
_MODE_NAMES = {'1': 'black-and-white', 'L': 'grayscale', 'P': 'palette', 'CMYK': 'CMYK',
               'YCbCr': 'YCbCr', 'LAB': 'Lab', 'HSV': 'HSV', 'RGBA': 'RGBA', 'RGBa': 'RGBA',
               'LA': 'grayscale+alpha', 'La': 'grayscale+alpha', 'PA': 'palette+alpha',
               'I': '32-bit integer', 'F': 'floating-point', 'I;16': '16-bit',
               'I;16L': '16-bit', 'I;16B': '16-bit', 'I;16N': '16-bit'}
# SOF markers whose data TensorFlow's libjpeg decodes: baseline, extended, progressive Huffman.
_PLAIN_SOF = {0xC0: 'baseline', 0xC1: 'extended', 0xC2: 'progressive'}
_OTHER_SOF = {0xC3: 'lossless', 0xC5: 'hierarchical', 0xC6: 'hierarchical',
              0xC7: 'hierarchical', 0xC9: 'arithmetic-coded', 0xCA: 'arithmetic-coded',
              0xCB: 'arithmetic-coded', 0xCD: 'arithmetic-coded', 0xCE: 'arithmetic-coded',
              0xCF: 'arithmetic-coded'}


class ImageResult(collections.namedtuple(
    'ImageResult', ['data', 'height', 'width', 'reencoded', 'skipped', 'rotated'],
    defaults=(None,))):
  """data: JPEG bytes (None when skipped); reencoded: why it was re-encoded, or None;
  skipped: why it was skipped, or None; rotated: the EXIF orientation (2-8) it was turned
  upright from, or None. A reason may carry details after ' (' -- group by reason_group()."""

  @property
  def ok(self):
    return self.skipped is None


def _skip(reason):
  return ImageResult(None, 0, 0, None, reason)


# What a file that is no regular file is, as a skip reason says.
_KINDS = ((stat.S_ISFIFO, 'FIFO'), (stat.S_ISCHR, 'character device'),
          (stat.S_ISBLK, 'block device'), (stat.S_ISSOCK, 'socket'), (stat.S_ISDIR, 'folder'))


def not_regular(mode):
  """None for the st_mode of a regular file, else why it is skipped: 'not a regular file
  (FIFO)', '(character device)', ..."""
  if stat.S_ISREG(mode):
    return None
  return '%s (%s)' % (NOT_REGULAR, next((kind for test, kind in _KINDS if test(mode)),
                                        'unknown kind'))


def not_a_file(path):
  """None when path is a regular file (or a link to one), else why it is skipped; told by
  os.stat alone, never opened (opening a FIFO waits for a writer, a device's data never ends)."""
  try:
    return not_regular(os.stat(path).st_mode)
  except OSError as e:
    return '%s (%s)' % (UNREADABLE, e.strerror or e)


def reason_group(reason):
  """The reason without its details: 'over pixel limit (9x9 > 50)' -> 'over pixel limit'."""
  return reason.split(' (', 1)[0]


def jpeg_coding(data):
  """(coding name, bits per sample) from the first SOF marker of JPEG bytes, or (None, None)."""
  pos = 2
  while pos + 4 <= len(data):
    if data[pos] != 0xFF:
      return None, None
    marker = data[pos + 1]
    if marker == 0xFF:  # Fill byte.
      pos += 1
      continue
    if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
      pos += 2
      continue
    if marker in (0xD9, 0xDA):  # End of image or start of scan before any frame header.
      return None, None
    length = (data[pos + 2] << 8) | data[pos + 3]
    if marker in _PLAIN_SOF or marker in _OTHER_SOF:
      precision = data[pos + 4] if pos + 4 < len(data) else None
      return _PLAIN_SOF.get(marker) or _OTHER_SOF[marker], precision
    pos += 2 + length
  return None, None


def _to_8bit_gray(image):
  """An 'L' image from 16-bit ('I;16*') or 32-bit ('I') samples, scaled (not clipped):
  0..65535 -> 0..255; 'I' images with values above 65535 are scaled by their maximum."""
  values = np.asarray(image.convert('I') if image.mode.startswith('I;16') else image,
                      dtype=np.float64)
  top = 65535.0 if values.max(initial=0) <= 65535 else float(values.max())
  scaled = np.clip(values, 0, None) * (255.0 / top)
  return Image.fromarray(np.round(scaled).astype(np.uint8), 'L')


def _float_to_8bit_gray(image):
  values = np.nan_to_num(np.asarray(image, dtype=np.float64))
  top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
  return Image.fromarray(np.round(np.clip(values / top, 0, 1) * 255).astype(np.uint8), 'L')


def _on_white(image):
  """RGB from an image with alpha, composited on a white background."""
  rgba = image.convert('RGBA')
  background = Image.new('RGBA', rgba.size, (255, 255, 255, 255))
  return Image.alpha_composite(background, rgba).convert('RGB')


def to_rgb(image):
  """An 8-bit RGB copy of a loaded Pillow image of any mode."""
  mode = image.mode
  if mode == 'RGB':
    return image
  if mode.startswith('I;16') or mode == 'I':
    return _to_8bit_gray(image).convert('RGB')
  if mode == 'F':
    return _float_to_8bit_gray(image).convert('RGB')
  if mode == 'P':
    if 'transparency' in image.info:
      return _on_white(image)
    return image.convert('RGB')
  if mode in ('RGBA', 'RGBa', 'LA', 'La', 'PA'):
    return _on_white(image)
  if mode == '1':
    return image.convert('L').convert('RGB')
  return image.convert('RGB')


def _reencode_reason(image, image_format, path, frames):
  """Why this (non-plain) image is re-encoded: e.g. 'CMYK JPEG', 'PNG', 'RGBA PNG'."""
  mode_name = _MODE_NAMES.get(image.mode, image.mode) if image.mode != 'RGB' else ''
  if image.mode == 'P' and 'transparency' in image.info:
    mode_name = 'palette+alpha'
  if image_format == 'GIF' and mode_name == 'palette':
    mode_name = ''  # Every GIF is palette-coded.
  reason = ('%s %s' % (mode_name, image_format)).strip()
  if frames > 1:
    reason = 'animated %s' % reason
  details = []
  extension = os.path.splitext(path)[1].lower()
  if extension and extension not in _EXTENSIONS.get(image_format, ()):
    details.append('named %s' % extension)
  if frames > 1:
    details.append('first of %d frames' % frames)
  return reason + (' (%s)' % ', '.join(details) if details else '')


def _encode_jpeg(rgb):
  buf = io.BytesIO()
  rgb.save(buf, format='JPEG', quality=JPEG_QUALITY)
  return buf.getvalue()


@contextlib.contextmanager
def _pillow_pixel_limit(max_pixels):
  """Pillow refuses images over twice its own Image.MAX_IMAGE_PIXELS: raised to max_pixels for
  the block, so that max_pixels (checked right after the header is read) is the one limit."""
  pillow_limit = Image.MAX_IMAGE_PIXELS
  if pillow_limit is not None:
    Image.MAX_IMAGE_PIXELS = max(pillow_limit, max_pixels)
  try:
    yield
  finally:
    Image.MAX_IMAGE_PIXELS = pillow_limit


def exif_orientation(image):
  """The EXIF orientation (2-8) of a Pillow image stored turned or mirrored, else None (1,
  none, or EXIF that does not parse)."""
  try:
    value = image.getexif().get(EXIF_ORIENTATION)
  except Exception:  # pylint: disable=broad-except
    return None  # Odd EXIF of a photo that decodes: kept as stored.
  return value if isinstance(value, int) and 2 <= value <= 8 else None


def max_file_bytes(max_pixels):
  """The largest file a photo of at most max_pixels pixels can be (see MAX_BYTES_PER_PIXEL)."""
  return max_pixels * MAX_BYTES_PER_PIXEL + FILE_HEADROOM


def _identified(source, max_pixels):
  """(the Pillow image of a file object, its header read, not decoded, or None; a skip reason,
  or None). Call under _pillow_pixel_limit."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('ignore')  # DecompressionBombWarning, odd EXIF: we judge ourselves.
      image = Image.open(source)
  except Image.DecompressionBombError as e:
    return None, '%s (%s)' % (OVER_PIXEL_LIMIT, e)
  except Image.UnidentifiedImageError:
    return None, NOT_AN_IMAGE
  except Exception as e:  # pylint: disable=broad-except
    return None, '%s (%s: %s)' % (CORRUPT, type(e).__name__, e)
  width, height = image.size
  if width * height > max_pixels:
    return None, '%s (%dx%d = %d > %d pixels)' % (OVER_PIXEL_LIMIT, width, height,
                                                  width * height, max_pixels)
  if width < 1 or height < 1:
    return None, '%s (size %dx%d)' % (CORRUPT, width, height)
  return image, None


def _opened(data, max_pixels):
  """(the Pillow image of the bytes, decoded, or None; a skip reason, or None)."""
  image, skipped = _identified(io.BytesIO(data), max_pixels)
  if skipped:
    return None, skipped
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('ignore')
      image.load()  # Decodes everything: a truncated file fails here.
  except Exception as e:  # pylint: disable=broad-except
    return None, '%s (%s: %s)' % (CORRUPT, type(e).__name__, e)
  return image, None


def check_bytes(data, name='', max_pixels=DEFAULT_MAX_PIXELS):
  """ImageResult for a photo's bytes; `name` (its path) only appears in re-encode reasons."""
  if not data:
    return _skip(EMPTY)
  with _pillow_pixel_limit(max_pixels):
    image, skipped = _opened(data, max_pixels)
  if skipped:
    return _skip(skipped)
  image_format = image.format or 'unknown'
  frames = getattr(image, 'n_frames', 1) if getattr(image, 'is_animated', False) else 1
  orientation = exif_orientation(image)
  if image_format in _JPEG_FORMATS and image.mode == 'RGB':
    coding, precision = jpeg_coding(data)
    if coding in _PLAIN_SOF.values() and precision == 8:
      if orientation is None:
        return ImageResult(data, image.size[1], image.size[0], None, None)
      reason = '%s (EXIF orientation %d)' % (ROTATED, orientation)
    else:
      reason = '%s JPEG' % (coding or 'unusual')
      if precision not in (None, 8):
        reason = '%d-bit %s' % (precision, reason)
  else:
    reason = _reencode_reason(image, image_format, name, frames)
  try:
    if orientation is not None:
      image = ImageOps.exif_transpose(image)
    rgb = to_rgb(image)
    encoded = _encode_jpeg(rgb)
  except Exception as e:  # pylint: disable=broad-except
    return _skip('%s (%s: %s: %s)' % (UNSUPPORTED_MODE, image.mode, type(e).__name__, e))
  return ImageResult(encoded, rgb.size[1], rgb.size[0], reason, None, orientation)


def _read_checked(f, max_pixels):
  """(the bytes of an open photo file, or None; a skip reason, or None). A file is identified from
  its header (Pillow reads no further) and its size checked before it is read; one that tells no
  size (as /proc's) or grows meanwhile is read up to the limit. The limit: max_file_bytes."""
  limit = max_file_bytes(max_pixels)
  too_large = '%s (more than %d bytes, the most a photo of %d pixels takes)' % (
      FILE_TOO_LARGE, limit, max_pixels)
  info = os.fstat(f.fileno())
  if stat.S_ISREG(info.st_mode) and info.st_size:
    with _pillow_pixel_limit(max_pixels):
      _, skipped = _identified(f, max_pixels)
    if skipped or info.st_size > limit:
      return None, skipped or too_large
    f.seek(0)
  data = f.read(limit + 1)
  return (None, too_large) if len(data) > limit else (data, None)


def check_image(path, max_pixels=DEFAULT_MAX_PIXELS):
  """ImageResult for one photo file: JPEG bytes to store (and why re-encoded), or a skip. A file
  that is no regular file (a FIFO or device put in place of one meanwhile) is opened without
  waiting for a writer and skipped unread."""
  try:
    with open(os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0)), 'rb') as f:
      skipped = not_regular(os.fstat(f.fileno()).st_mode)
      if not skipped:
        data, skipped = _read_checked(f, max_pixels)
  except OSError as e:
    return _skip('%s (%s)' % (UNREADABLE, e.strerror or e))
  if skipped:
    return _skip(skipped)
  return check_bytes(data, path, max_pixels)


def check_images(paths, max_pixels=DEFAULT_MAX_PIXELS):
  """check_image over a list (one chunk of work for a worker process)."""
  return [check_image(path, max_pixels) for path in paths]


def init_worker():
  """Worker process initializer: Ctrl-C is handled by the parent alone."""
  signal.signal(signal.SIGINT, signal.SIG_IGN)
