"""datasets.images: which photos are kept byte for byte, re-encoded or skipped, and why."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from datasets import images
from support.photo_fixtures import huge_file
from support.photo_fixtures import jpeg_with_orientation

HEIGHT, WIDTH = 24, 32


def _noise(mode='RGB', seed=0):
  rng = np.random.default_rng(seed)
  pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
  return Image.fromarray(pixels, 'RGB').convert(mode)


def _encode(image, image_format, **kwargs):
  buf = io.BytesIO()
  image.save(buf, format=image_format, **kwargs)
  return buf.getvalue()


def _png16():
  ramp = np.linspace(0, 65535, HEIGHT * WIDTH).reshape(HEIGHT, WIDTH).astype(np.uint16)
  return _encode(Image.fromarray(ramp), 'PNG')


def _rgba_png():
  rgba = _noise('RGBA')
  rgba.putalpha(0)  # Fully transparent: must come out white.
  return _encode(rgba, 'PNG')


def _animated_gif():
  frames = [Image.new('L', (WIDTH, HEIGHT), value).convert('P') for value in (10, 128, 250)]
  buf = io.BytesIO()
  frames[0].save(buf, format='GIF', save_all=True, append_images=frames[1:])
  return buf.getvalue()


def _truncated_jpeg():
  data = _encode(_noise(), 'JPEG', quality=90)
  return data[:len(data) * 2 // 3]


# name -> (file bytes, expected re-encode reason)
REENCODED = {
    'png_named.jpg': (lambda: _encode(_noise(), 'PNG'), 'PNG (named .jpg)'),
    'cmyk.jpg': (lambda: _encode(_noise('CMYK'), 'JPEG'), 'CMYK JPEG'),
    'gray.jpg': (lambda: _encode(_noise('L'), 'JPEG'), 'grayscale JPEG'),
    'deep.png': (_png16, '16-bit PNG'),
    'alpha.png': (_rgba_png, 'RGBA PNG'),
    'palette.png': (lambda: _encode(_noise('P'), 'PNG'), 'palette PNG'),
    'moving.gif': (_animated_gif, 'animated GIF (first of 3 frames)'),
    'plain.bmp': (lambda: _encode(_noise(), 'BMP'), 'BMP'),
    'plain.webp': (lambda: _encode(_noise(), 'WEBP'), 'WEBP'),
}
SKIPPED = {
    'empty.jpg': (lambda: b'', images.EMPTY),
    'truncated.jpg': (_truncated_jpeg, images.CORRUPT),
    'notes.jpg': (lambda: b'these are not pixels\n', images.NOT_AN_IMAGE),
}


def _write(tmp_path, name, data):
  path = tmp_path / name
  path.write_bytes(data)
  return str(path)


def _decoded_shape(data):
  with tf.Graph().as_default():
    decoded = tf.io.decode_jpeg(data, channels=3)
    with tf.compat.v1.Session() as sess:
      return sess.run(decoded).shape


def test_rgb_jpeg_is_stored_byte_for_byte(tmp_path):
  data = _encode(_noise(), 'JPEG', quality=90)
  result = images.check_image(_write(tmp_path, 'rgb.jpg', data))
  assert result.ok and result.reencoded is None
  assert result.data == data
  assert (result.height, result.width) == (HEIGHT, WIDTH)


def test_progressive_rgb_jpeg_is_stored_byte_for_byte(tmp_path):
  data = _encode(_noise(), 'JPEG', progressive=True)
  result = images.check_image(_write(tmp_path, 'progressive.jpg', data))
  assert result.reencoded is None and result.data == data


@pytest.mark.parametrize('name', sorted(REENCODED))
def test_other_images_are_reencoded_with_their_reason(tmp_path, name):
  make, reason = REENCODED[name]
  result = images.check_image(_write(tmp_path, name, make()))
  assert result.ok
  assert result.reencoded == reason
  stored = Image.open(io.BytesIO(result.data))
  assert (stored.format, stored.mode, stored.size) == ('JPEG', 'RGB', (WIDTH, HEIGHT))
  assert (result.height, result.width) == (HEIGHT, WIDTH)


@pytest.mark.parametrize('name', sorted(SKIPPED))
def test_undecodable_files_are_skipped_with_their_reason(tmp_path, name):
  make, reason = SKIPPED[name]
  result = images.check_image(_write(tmp_path, name, make()))
  assert not result.ok and result.data is None
  assert images.reason_group(result.skipped) == reason


def test_image_over_pixel_limit_is_skipped(tmp_path):
  path = _write(tmp_path, 'big.png', _encode(_noise(), 'PNG'))
  result = images.check_image(path, max_pixels=HEIGHT * WIDTH - 1)
  assert images.reason_group(result.skipped) == images.OVER_PIXEL_LIMIT
  assert images.check_image(path, max_pixels=HEIGHT * WIDTH).ok


def test_missing_file_is_skipped_not_raised(tmp_path):
  result = images.check_image(str(tmp_path / 'gone.jpg'))
  assert images.reason_group(result.skipped) == images.UNREADABLE


def test_16bit_samples_are_scaled_not_clipped():
  result = images.check_bytes(_png16(), 'deep.png')
  pixels = np.asarray(Image.open(io.BytesIO(result.data)).convert('L'), dtype=np.float64)
  # The ramp covers 0..65535: scaled it covers 0..255 evenly (clipping would make most 255).
  assert abs(pixels.mean() - 127.5) < 3
  assert pixels.min() < 5 and pixels.max() > 250


def test_transparent_pixels_become_white():
  result = images.check_bytes(_rgba_png(), 'alpha.png')
  pixels = np.asarray(Image.open(io.BytesIO(result.data)))
  assert pixels.min() >= 250


def test_animated_gif_keeps_its_first_frame():
  result = images.check_bytes(_animated_gif(), 'moving.gif')
  pixels = np.asarray(Image.open(io.BytesIO(result.data)), dtype=np.float64)
  assert abs(pixels.mean() - 10) < 3


def test_arithmetic_coded_jpeg_is_never_stored_as_is():
  data = bytearray(_encode(_noise(), 'JPEG'))
  sof = data.index(b'\xff\xc0')
  data[sof + 1] = 0xC9  # Arithmetic-coded sequential: TensorFlow's libjpeg may not read it.
  assert images.jpeg_coding(bytes(data)) == ('arithmetic-coded', 8)
  result = images.check_bytes(bytes(data), 'odd.jpg')
  assert result.data != bytes(data)


def test_every_stored_image_decodes_with_tensorflow_to_height_width_3():
  cases = [make() for make, _ in REENCODED.values()]
  cases += [_encode(_noise(), 'JPEG'), _encode(_noise(), 'JPEG', progressive=True)]
  for data in cases:
    result = images.check_bytes(data, 'photo.jpg')
    assert _decoded_shape(result.data) == (result.height, result.width, 3)


def test_images_module_does_not_import_tensorflow():
  code = 'import sys, datasets.images; print("tensorflow" in sys.modules)'
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == 'False'


# --- EXIF orientation -------------------------------------------------------------------------

def test_a_photo_with_exif_orientation_6_is_stored_upright():
  data = jpeg_with_orientation(6, size=(32, 24))  # Stored 32 wide, 24 high; top half red.
  result = images.check_bytes(data, 'phone.jpg')
  assert (result.rotated, result.reencoded) == (6, 'turned upright (EXIF orientation 6)')
  assert (result.height, result.width) == (32, 24)
  assert _decoded_shape(result.data) == (32, 24, 3)
  pixels = np.asarray(Image.open(io.BytesIO(result.data)), dtype=np.float64)
  # Turned 90 degrees clockwise: the stored top (red) is now the right half.
  assert pixels[:, 14:, 0].mean() > 200 and pixels[:, 14:, 2].mean() < 50
  assert pixels[:, :10, 2].mean() > 200 and pixels[:, :10, 0].mean() < 50
  assert images.exif_orientation(Image.open(io.BytesIO(result.data))) is None


def test_a_photo_with_exif_orientation_1_is_stored_byte_for_byte():
  data = jpeg_with_orientation(1)
  result = images.check_bytes(data, 'upright.jpg')
  assert (result.data, result.rotated, result.reencoded) == (data, None, None)


# --- --max_pixels above Pillow's own limit ----------------------------------------------------

def test_max_pixels_above_pillows_limit_lifts_it_for_the_check(monkeypatch):
  monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100)  # Pillow refuses above 2x: 200 pixels.
  data = _encode(_noise(), 'PNG')  # 32x24 = 768 pixels.
  assert images.check_bytes(data, 'big.png', max_pixels=1000).ok
  skipped = images.check_bytes(data, 'big.png', max_pixels=700).skipped
  assert skipped == 'over pixel limit (32x24 = 768 > 700 pixels)'
  assert Image.MAX_IMAGE_PIXELS == 100  # Pillow's own limit is back after the check.


# --- a huge file is identified from its header and refused unread ------------------------------

# Prints the peak memory (MB) before and after: a process starts with its parent's peak.
CHECK_AND_MEASURE = """
import resource, sys
from datasets import images
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
for path in sys.argv[1:]:
  print(images.check_image(path).skipped)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def test_a_3_gb_file_is_refused_from_its_header_without_being_read(tmp_path):
  zeros = huge_file(tmp_path / 'big.jpg', b'')  # truncate -s 3G big.jpg
  photo = huge_file(tmp_path / 'photo.jpg', _encode(_noise(), 'JPEG'))  # a JPEG, then 3 GB
  out = subprocess.run([sys.executable, '-c', CHECK_AND_MEASURE, zeros, photo],
                       capture_output=True, text=True, check=True, timeout=300)
  peak_before, not_an_image, too_large, peak_after = out.stdout.split('\n')[:4]
  assert not_an_image == images.NOT_AN_IMAGE
  assert too_large == '%s (more than %d bytes, the most a photo of %d pixels takes)' % (
      images.FILE_TOO_LARGE, images.max_file_bytes(images.DEFAULT_MAX_PIXELS),
      images.DEFAULT_MAX_PIXELS)
  assert int(peak_after) - int(peak_before) < 200  # reading either whole took 3 GB


def test_a_file_up_to_the_size_a_photo_within_the_pixel_limit_can_take_is_read(tmp_path):
  max_pixels = HEIGHT * WIDTH
  limit = images.max_file_bytes(max_pixels)
  path = huge_file(tmp_path / 'padded.jpg', _encode(_noise(), 'JPEG'), size=limit)
  assert images.check_image(path, max_pixels).ok
  os.truncate(path, limit + 1)
  skipped = images.check_image(path, max_pixels).skipped
  assert images.reason_group(skipped) == images.FILE_TOO_LARGE
