"""A pixel limit on encoded photos, checked in the graph from their headers before any decoding:
a decompression bomb (a 1 MB PNG of 20000x20000 pixels) is refused in microseconds instead of
taking gigabytes to decode.

The formats are told apart by their first bytes as tf.io.decode_image tells them apart, and each
size is read where the decoder reads it:
  JPEG  the frame header (tf.image.extract_jpeg_shape)
  PNG   IHDR: width and height, big-endian 32-bit, at bytes 16 and 20
  GIF   every frame's image descriptor (TensorFlow decodes all frames, giflib keeping each in
        memory, and gives the first at the largest frame's width and height): the frames' pixels
        add up
  BMP   width and height, little-endian 32-bit, at bytes 18 and 22 (height negative: top-down)
  WebP  the VP8X canvas, or the VP8 / VP8L frame header (an animated WebP TensorFlow refuses
        with channels=3)
Anything else (JPEG XL, which tf.io.decode_image also decodes, a WebP of another first chunk,
bytes of no image format) is refused: its size is not read here.

checked(bytes, index, max_pixels) gives the bytes back behind an assertion, so every decode of
them runs after it: over the limit, the run fails with InvalidArgumentError naming the photo,
its size and the limit.
"""
import tensorflow as tf

FORMATS = ('JPEG', 'PNG', 'GIF', 'BMP', 'WebP')
_UNKNOWN, _JPEG, _PNG, _GIF, _BMP, _WEBP = range(6)
_HEAD = 32      # bytes of a header read for the formats other than GIF
_PAD = 16       # zero bytes after a GIF's last, so a descriptor read past the end reads zeros
_WEBP_CHUNKS = (b'VP8X', b'VP8L', b'VP8 ')  # the canvas; a lossless frame; a lossy frame
_GIF_IMAGE = 0x2C
_GIF_EXTENSION = 0x21
_GIF_RUN = 64          # full sub-blocks (255 bytes) a step of the GIF walk skips at most
MAX_GIF_STEPS = 2 ** 14  # steps of the GIF walk: a GIF that needs more is refused


def _head(data):
  """The first _HEAD bytes of a scalar string, zeros past its end (a short string reads as
  zeros where a header would be)."""
  return tf.strings.substr(tf.strings.join([tf.strings.substr(data, 0, _HEAD, unit='BYTE'),
                                            b'\x00' * _HEAD]), 0, _HEAD, unit='BYTE')


def _values(head):
  """int64 [_HEAD]: the bytes of a header."""
  return tf.cast(tf.io.decode_raw(head, tf.uint8), tf.int64)


def _little(values, start, count):
  """The unsigned little-endian integer of values[start:start + count] (int64 tensors)."""
  return sum(values[start + i] * (256 ** i) for i in range(count))


def _big(values, start, count):
  return sum(values[start + i] * (256 ** (count - 1 - i)) for i in range(count))


def _is(head, start, magic):
  return tf.equal(tf.strings.substr(head, start, len(magic), unit='BYTE'), magic)


def _format(head):
  """The format index (_JPEG ... _WEBP, or _UNKNOWN), by decode_image's order of magic bytes; a
  WebP only with one of the chunks _webp_size reads first."""
  webp = tf.logical_and(_is(head, 0, b'RIFF'), _is(head, 8, b'WEBP'))
  webp = tf.logical_and(webp, tf.reduce_any([_is(head, 12, chunk) for chunk in _WEBP_CHUNKS]))
  index = tf.where(webp, _WEBP, _UNKNOWN)
  for magic, value in ((b'BM', _BMP), (b'GIF8', _GIF), (b'\x89PNG\r\n\x1a\n', _PNG),
                       (b'\xff\xd8\xff', _JPEG)):
    index = tf.where(_is(head, 0, magic), value, index)
  return index


def _int64(value):
  return tf.cast(value, tf.int64)


def _size(width, height, frames=1):
  """int64 [width, height, pixels, frames]."""
  width, height = _int64(width), _int64(height)
  return tf.stack([width, height, width * height, _int64(frames)])


def _jpeg_size(data):
  shape = tf.image.extract_jpeg_shape(data)
  return _size(shape[1], shape[0])


def _png_size(values):
  return _size(_big(values, 16, 4), _big(values, 20, 4))


def _bmp_size(values):
  height = _little(values, 22, 4)
  height = tf.where(height >= 2 ** 31, 2 ** 32 - height, height)  # negative: top-down rows
  return _size(_little(values, 18, 4), height)


def _webp_size(head, values):
  lossless = _little(values, 21, 4)
  width = height = tf.constant(0, tf.int64)
  for chunk, (w, h) in zip(_WEBP_CHUNKS, (
      (_little(values, 24, 3) + 1, _little(values, 27, 3) + 1),
      (lossless % 2 ** 14 + 1, lossless // 2 ** 14 % 2 ** 14 + 1),
      (_little(values, 26, 2) % 2 ** 14, _little(values, 28, 2) % 2 ** 14))):
    width = tf.where(_is(head, 12, chunk), w, width)
    height = tf.where(_is(head, 12, chunk), h, height)
  return _size(width, height)


def _gif_size(data):
  """[largest frame width, largest frame height, the frames' pixels in all, frames]: walks the
  blocks (image descriptors, extensions and their sub-blocks) up to the trailer, a run of up to
  _GIF_RUN full sub-blocks at a step; frames = -1 when the walk needs more than
  MAX_GIF_STEPS steps."""
  length = tf.strings.length(data, unit='BYTE')
  values = tf.pad(tf.cast(tf.io.decode_raw(data, tf.uint8), tf.int32), [[0, _PAD]])
  last = length + _PAD - 1
  run_offsets = tf.range(_GIF_RUN) * 256

  def colour_table(flags):  # its bytes, when the flags' top bit says it is there
    return tf.where(flags >= 128, 3 * tf.bitwise.left_shift(2, flags % 8), 0)

  def step(pos, in_blocks, width, height, pixels, frames):
    kind, _, _, _, _, w0, w1, h0, h1, flags = tf.unstack(tf.slice(values, [pos], [10]))
    sizes = tf.gather(values, tf.minimum(pos + run_offsets, last))
    full = tf.cast(tf.argmax(tf.concat([tf.not_equal(sizes, 255), [True]], 0)), tf.int32)
    image = tf.logical_and(tf.logical_not(in_blocks), tf.equal(kind, _GIF_IMAGE))
    extension = tf.logical_and(tf.logical_not(in_blocks), tf.equal(kind, _GIF_EXTENSION))
    frame_width, frame_height = _int64(w0 + 256 * w1), _int64(h0 + 256 * h1)
    after_image = pos + 11 + colour_table(flags)  # descriptor, colour table, LZW code size
    next_in_blocks = tf.where(full > 0, pos + 256 * full, pos + 1 + kind)
    pos = tf.where(in_blocks, next_in_blocks,
                   tf.where(image, after_image, tf.where(extension, pos + 2, length)))
    in_blocks = tf.where(in_blocks, tf.logical_or(full > 0, tf.not_equal(kind, 0)),
                         tf.logical_or(image, extension))
    return (pos, in_blocks,
            tf.where(image, tf.maximum(width, frame_width), width),
            tf.where(image, tf.maximum(height, frame_height), height),
            pixels + frame_width * frame_height * _int64(image), frames + _int64(image))

  zero = _int64(0)
  pos, _, width, height, pixels, frames = tf.while_loop(
      lambda pos, *_: pos < length, step,
      (13 + colour_table(values[10]), tf.constant(False), zero, zero, zero, zero),
      maximum_iterations=MAX_GIF_STEPS)
  frames = tf.where(pos < length, _int64(-1), frames)
  return tf.stack([width, height, tf.maximum(pixels, width * height), frames])


def encoded_size(data):
  """(int64 [width, height, pixels to decode, frames], the format: an index into
  ('unknown',) + FORMATS) of encoded image bytes (a scalar string), read from the header.
  Unknown formats give zeros."""
  head = _head(data)
  values = _values(head)
  index = _format(head)
  size = tf.switch_case(index, [
      lambda: tf.zeros([4], tf.int64), lambda: _jpeg_size(data), lambda: _png_size(values),
      lambda: _gif_size(data), lambda: _bmp_size(values), lambda: _webp_size(head, values)])
  return size, index


def check(data, index, max_pixels):
  """The assertion op: the image (bytes, number `index` in its batch) is of a known format with
  at most max_pixels pixels (read from its header)."""
  size, kind = encoded_size(data)
  width, height, pixels, frames = tf.unstack(size)
  known = tf.not_equal(kind, _UNKNOWN)
  walked = frames >= 0
  image = tf.strings.format('image {}', [index])
  many = tf.where(frames > 1, tf.strings.format(' in {} frames', [frames]), '')
  messages = [
      (known, ' is not a %s or %s image' % (', '.join(FORMATS[:-1]), FORMATS[-1])),
      (walked, ' is a GIF of too many blocks to check (over %d steps)' % MAX_GIF_STEPS),
      (pixels <= max_pixels, tf.strings.join([
          tf.strings.format(' is {}x{}', [width, height]), many,
          tf.strings.format(': {} pixels, over the limit of %d pixels (refused before '
                            'decoding)' % max_pixels, [pixels])]))]
  message = messages[-1][1]
  for ok, text in reversed(messages[:-1]):
    message = tf.where(ok, message, text)
  return tf.debugging.Assert(tf.reduce_all([ok for ok, _ in messages]),
                             [tf.strings.join([image, message])])


def checked(data, index, max_pixels):
  """The bytes, readable only after check() passes: every decode of them waits on it."""
  with tf.control_dependencies([check(data, index, max_pixels)]):
    return tf.identity(data)
