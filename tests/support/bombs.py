"""Encoded images built byte by byte for the pixel-limit tests: a PNG decompression bomb that is
never held as pixels, and GIFs whose frames and blocks the test chooses."""
import struct
import zlib

ROWS_AT_ONCE = 64


def _png_chunk(kind, data):
  return (struct.pack('>I', len(data)) + kind + data +
          struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF))


def zero_png(width, height):
  """A black 8-bit RGB PNG of width x height, built without its pixels: the deflate stream of
  ROWS_AT_ONCE zero rows, made independent of what precedes it (Z_FULL_FLUSH), repeated (20000 x
  20000 pixels: 1.2 MB, built in well under a second)."""
  row = 1 + 3 * width  # the filter byte, then RGB
  deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw: the zlib header is written here
  rows = deflate.compress(bytes(row * ROWS_AT_ONCE)) + deflate.flush(zlib.Z_FULL_FLUSH)
  tail = (deflate.compress(bytes(row * (height % ROWS_AT_ONCE))) +
          deflate.flush(zlib.Z_FINISH))
  adler32 = (row * height % 65521) << 16 | 1  # of zeros: 1 + their sum, and the sum of those
  idat = (b'\x78\xda' + rows * (height // ROWS_AT_ONCE) + tail + struct.pack('>I', adler32))
  header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', header) + _png_chunk(b'IDAT', idat) +
          _png_chunk(b'IEND', b''))


def _sub_blocks(data, size):
  """data as GIF sub-blocks of `size` bytes (the last shorter), then the terminator."""
  return b''.join(bytes([len(data[i:i + size])]) + data[i:i + size]
                  for i in range(0, len(data), size)) + b'\x00'


def _black_lzw(pixels):
  """GIF LZW data (code size 2) of `pixels` pixels of colour 0: a clear code before every two,
  so every code stays 3 bits wide; LSB first."""
  codes = []
  for start in range(0, pixels, 2):
    codes += [4] + [0] * min(2, pixels - start)
  codes.append(5)
  bits = ''.join(format(code, '03b')[::-1] for code in codes)
  bits += '0' * (-len(bits) % 8)
  return bytes(int(bits[i:i + 8][::-1], 2) for i in range(0, len(bits), 8))


def gif(screen, frames, comment=0, sub_block=255):
  """A GIF89a of black frames of the given (width, height) sizes, each at 0,0 after a graphic
  control extension, on a logical screen of `screen` (width, height) that the frames may
  overflow; the first frame has a local colour table; a comment extension of `comment` bytes
  leads. Every block's data in sub-blocks of `sub_block` bytes."""
  palette = b'\x00\x00\x00\xff\xff\xff'
  out = b'GIF89a' + struct.pack('<HHBBB', screen[0], screen[1], 0x80, 0, 0) + palette
  if comment:
    out += b'\x21\xfe' + _sub_blocks(b'c' * comment, sub_block)
  for i, (width, height) in enumerate(frames):
    out += b'\x21\xf9\x04\x00\x0a\x00\x00\x00'  # graphic control: a 0.1 s delay
    local = 0x80 if i == 0 else 0
    out += b'\x2c' + struct.pack('<HHHHB', 0, 0, width, height, local)
    out += (palette if local else b'') + b'\x02'
    out += _sub_blocks(_black_lzw(width * height), sub_block)
  return out + b'\x3b'
