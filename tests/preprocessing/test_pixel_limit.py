"""preprocessing.pixel_limit: every format's size read from its header in the graph, as
TensorFlow decodes it, and a photo over the pixel limit (or of a format it does not read)
refused before anything decodes it."""
import io
import struct

import pytest
import tensorflow as tf
from PIL import Image

from datasets.images import DEFAULT_MAX_PIXELS
from preprocessing import pixel_limit
from support.bombs import gif
from support.bombs import zero_png

WIDTH, HEIGHT = 37, 23


def encode(image_format, mode='RGB', **kwargs):
  buf = io.BytesIO()
  Image.new(mode, (WIDTH, HEIGHT), 'teal').save(buf, format=image_format, **kwargs)
  return buf.getvalue()


def top_down_bmp():
  data = bytearray(encode('BMP'))
  struct.pack_into('<i', data, 22, -HEIGHT)  # a negative height: rows stored top first
  return bytes(data)


def claiming_jpeg(width, height):
  """A small JPEG whose frame header claims width x height."""
  data = bytearray(encode('JPEG'))
  sof = data.index(b'\xff\xc0')
  struct.pack_into('>HH', data, sof + 5, height, width)
  return bytes(data)


# name (its format first) -> (bytes, for WebP the chunk that says the size)
PHOTOS = {
    'JPEG': (lambda: encode('JPEG'), None),
    'PNG': (lambda: encode('PNG'), None),
    'GIF': (lambda: encode('GIF', 'P'), None),
    'BMP': (lambda: encode('BMP'), None),
    'BMP top-down': (top_down_bmp, None),
    'WebP lossy': (lambda: encode('WEBP'), b'VP8 '),
    'WebP lossless': (lambda: encode('WEBP', lossless=True), b'VP8L'),
    'WebP extended': (lambda: encode('WEBP', exif=b'Exif\x00\x00II*\x00'), b'VP8X'),
}


def run(build, data):
  """What build(a scalar string placeholder) gives for the bytes, in a graph of its own."""
  with tf.Graph().as_default():
    encoded = tf.compat.v1.placeholder(tf.string, [])
    fetch = build(encoded)
    with tf.compat.v1.Session() as sess:
      return sess.run(fetch, {encoded: data})


def size_of(data):
  """((width, height, pixels, frames), format name) read by pixel_limit."""
  size, index = run(pixel_limit.encoded_size, data)
  return tuple(int(v) for v in size), (('unknown',) + pixel_limit.FORMATS)[index]


def refusal(data, max_pixels, index=0):
  """The check's message for the bytes, or None when they pass (given back unchanged)."""
  try:
    passed = run(lambda encoded: pixel_limit.checked(encoded, index, max_pixels), data)
  except tf.errors.InvalidArgumentError as e:
    return e.message
  assert passed == data
  return None


def decoded_shape(data):
  return tuple(run(lambda encoded: tf.shape(tf.io.decode_image(
      encoded, channels=3, expand_animations=False)), data))


@pytest.mark.parametrize('name', sorted(PHOTOS))
def test_the_size_is_read_from_the_header_as_tensorflow_decodes_it(name):
  make, chunk = PHOTOS[name]
  data = make()
  assert chunk is None or data[12:16] == chunk
  assert size_of(data) == ((WIDTH, HEIGHT, WIDTH * HEIGHT, 1), name.split()[0])
  assert decoded_shape(data) == (HEIGHT, WIDTH, 3)


def test_a_gifs_largest_frame_sets_its_size_whatever_its_screen_says_and_frames_add_up():
  data = gif(screen=(10, 10), frames=[(30, 20), (30, 20), (40, 10)], comment=255 * 70 + 3)
  assert size_of(data) == ((40, 20, 30 * 20 * 2 + 40 * 10, 3), 'GIF')
  assert decoded_shape(data) == (20, 40, 3)  # giflib holds all three frames to give this one
  assert 'image 0 is 40x20 in 3 frames: 1600 pixels, over the limit of 1599 pixels' in (
      refusal(data, 1599))
  assert refusal(data, 1600) is None


def test_over_the_limit_the_message_names_the_image_its_size_and_the_limit():
  data = encode('PNG')
  assert 'image 4 is 37x23: 851 pixels, over the limit of 850 pixels (refused before ' \
      'decoding)' in refusal(data, 850, index=4)
  assert refusal(data, 851) is None


@pytest.mark.parametrize('width, height, data', [
    (20000, 20000, lambda: zero_png(20000, 20000)),  # 1.2 MB, 1.2 GB of pixels
    (30000, 30000, lambda: claiming_jpeg(30000, 30000))])
def test_a_decompression_bomb_is_refused_from_its_header(width, height, data):
  assert '%dx%d: %d pixels, over the limit of %d pixels' % (
      width, height, width * height, DEFAULT_MAX_PIXELS) in refusal(data(), DEFAULT_MAX_PIXELS)


@pytest.mark.parametrize('data', [
    b'', b'these are not pixels', b'\x00\x00\x00\x0cJXL \r\n\x87\n' + b'\x00' * 40,
    b'RIFF\x00\x00\x00\x00WAVEfmt ', b'RIFF\x00\x00\x00\x00WEBPALPH' + b'\x00' * 40])
def test_bytes_of_a_format_it_does_not_read_are_refused(data):
  assert 'image 0 is not a JPEG, PNG, GIF, BMP or WebP image' in refusal(data, 10 ** 9)


@pytest.mark.slow
def test_a_gif_too_long_to_walk_is_refused_after_a_bounded_walk():
  walkable = gif(screen=(4, 4), frames=[(4, 4)], comment=pixel_limit.MAX_GIF_STEPS - 20,
                 sub_block=1)
  assert refusal(walkable, 100) is None
  data = gif(screen=(4, 4), frames=[(4, 4)], comment=pixel_limit.MAX_GIF_STEPS, sub_block=1)
  assert 'image 0 is a GIF of too many blocks to check (over %d steps)' % (
      pixel_limit.MAX_GIF_STEPS) in refusal(data, 100)


def test_nothing_decodes_the_bytes_before_the_check_passes():
  with pytest.raises(tf.errors.InvalidArgumentError, match='over the limit of 100 pixels'):
    run(lambda encoded: tf.io.decode_image(pixel_limit.checked(encoded, 0, 100), channels=3),
        encode('PNG'))
