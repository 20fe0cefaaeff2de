"""Text in the pictures: the bundled font, text fitted into a width, and class names as they are
drawn. Every letter drawn has a glyph in the font: a character it lacks never shows as a box (the
font's .notdef) but as '?' in free text, and a class name the font cannot draw whole (a script it
lacks, say 'ひまわり') as 'class <id>'.
"""
import functools
import math
import os
import unicodedata

from PIL import ImageFont

import base

# DejaVu Sans 2.37 (Debian's fonts-dejavu-core, unmodified; licence in fonts/LICENSE): Latin
# with its accents (ä ö ü ß é ł ő ...), Greek and Cyrillic. Pillow's own load_default(size) draws
# ASCII only: every other letter is the same box.
FONT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fonts', 'DejaVuSans.ttf')


@functools.lru_cache(maxsize=None)
def load_font(size):
  """The bundled font at size pixels; Pillow's ASCII-only bitmap font without FreeType."""
  try:
    return ImageFont.truetype(FONT_PATH, size)
  except (OSError, ImportError):  # No FreeType in this Pillow (or the file is missing).
    return ImageFont.load_default()


@functools.lru_cache(maxsize=None)
def _drawable(char):
  """True when the font has a glyph for char: FreeType draws a missing one as the font's .notdef
  box, which is what U+FFFF (a noncharacter, in no font) gives."""
  if not char.isprintable():
    return char == ' '
  font = load_font(12)
  if not isinstance(font, ImageFont.FreeTypeFont):
    return ord(char) < 128

  def shape(c):
    mask = font.getmask(c)
    return mask.size, bytes(mask)
  return shape(char) != shape('\uffff')


def drawable(text):
  """True when every character of text has a glyph in the font (no box would be drawn)."""
  return all(_drawable(c) for c in unicodedata.normalize('NFC', text))


def without_boxes(text, stand_in='?'):
  """text (NFC) with each character the font has no glyph for replaced by stand_in."""
  return ''.join(c if _drawable(c) else stand_in for c in unicodedata.normalize('NFC', text))


def text_width(font, text):
  """Pixels text takes in font, rounded up."""
  return int(math.ceil(font.getlength(text)))


def fit_text(font, text, max_width):
  """`text` (characters the font lacks shown as '?'), cut and ended with an ellipsis when it is
  wider than max_width pixels."""
  text = without_boxes(text)
  if text_width(font, text) <= max_width:
    return text
  while text and text_width(font, text + '\u2026') > max_width:
    text = text[:-1]
  return text + '\u2026' if text else ''


def class_name_list(class_names, num_classes):
  """num_classes names to draw: a name the font cannot draw whole (a script it lacks, say
  'ひまわり') is shown as 'class <id>' instead of boxes; a missing name as its id."""
  names = [n.decode('utf-8', 'replace') if isinstance(n, bytes) else str(n)
           for n in base.class_names(class_names, num_classes)]
  return [unicodedata.normalize('NFC', n) if drawable(n) else 'class %d' % i
          for i, n in enumerate(names)]
