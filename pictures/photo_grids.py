"""Grids of photos, drawn with numpy and Pillow only: captioned thumbnails (the evaluator's
predictions, mistakes first; the dataset view's samples per class) and the sprite of the embedding
projector. Every picture is a uint8 RGB array [H, W, 3].
"""
import math

import numpy as np
from PIL import Image
from PIL import ImageDraw

from pictures import charts
from pictures import lettering

# TensorBoard's projector refuses sprites larger than this on either side.
MAX_SPRITE_SIZE = 8192


# --- grids of photos ----------------------------------------------------------------------------

# TensorBoard's image cards are about this wide; a wider picture is scaled down to fit them.
CARD_WIDTH = 500
GRID_COLUMNS = 3
GRID_THUMB_SIZE = 158
GRID_FONT_SIZE = 14


def _caption_height(caption_lines, font_size):
  return caption_lines * (font_size + 3) + 4 if caption_lines else 0


def image_grid_size(num_images, thumb_size=112, columns=None, caption_lines=2, pad=4,
                    font_size=11):
  """(H, W) of image_grid: rows * (thumb_size + caption + pad) + pad by
  columns * (thumb_size + pad) + pad, caption = caption_lines * (font_size + 3) + 4."""
  rows, columns = charts.grid_shape(num_images, columns)
  caption = _caption_height(caption_lines, font_size)
  return rows * (thumb_size + caption + pad) + pad, columns * (thumb_size + pad) + pad


def image_grid(images, captions=None, caption_colours=None, columns=None, thumb_size=112,
               pad=4, font_size=11):
  """Thumbnails with captions under them, row by row.

  Args:
    images: list (or array) of uint8 [h, w, 3] (or [-1, 1] float) images of any sizes; each is
      fitted into a thumb_size square.
    captions: one str per image ('\\n' starts another line) or None.
    caption_colours: one RGB tuple per image (text and a frame round the thumbnail) or None.
    columns: grid columns (default ceil(sqrt(N))).
  Returns:
    uint8 [H, W, 3] of image_grid_size(N, thumb_size, columns, most caption lines, pad).
  """
  images = list(images)
  if not images:
    raise ValueError('image_grid needs at least one image')
  if captions is not None and len(captions) != len(images):
    raise ValueError('got %d captions for %d images' % (len(captions), len(images)))
  if caption_colours is not None and len(caption_colours) != len(images):
    raise ValueError('got %d caption colours for %d images' % (len(caption_colours), len(images)))
  lines = [str(c).split('\n') for c in captions] if captions is not None else [[]] * len(images)
  caption_lines = max(len(l) for l in lines)
  rows, columns = charts.grid_shape(len(images), columns)
  height, width = image_grid_size(len(images), thumb_size, columns, caption_lines, pad, font_size)
  caption = _caption_height(caption_lines, font_size)
  font = lettering.load_font(font_size)

  canvas = Image.new('RGB', (width, height), charts.BACKGROUND)
  draw = ImageDraw.Draw(canvas)
  frame = max(1, thumb_size // 48)
  for i, image in enumerate(images):
    r, c = divmod(i, columns)
    left, top = pad + c * (thumb_size + pad), pad + r * (thumb_size + caption + pad)
    thumbnail = charts.square_thumbnail(image, thumb_size, fit=True)
    canvas.paste(Image.fromarray(thumbnail), (left, top))
    colour = tuple(caption_colours[i]) if caption_colours is not None else charts.TEXT
    if caption_colours is not None:
      for k in range(frame):
        draw.rectangle([left + k, top + k, left + thumb_size - 1 - k, top + thumb_size - 1 - k],
                       outline=colour)
    for k, text in enumerate(lines[i]):
      draw.text((left + 1, top + thumb_size + 3 + k * (font_size + 3)),
                lettering.fit_text(font, text, thumb_size - 2), fill=colour, font=font)
  return np.asarray(canvas)


def prediction_grid(images, true_labels, predicted_labels, class_names, probabilities=None,
                    max_images=None, columns=GRID_COLUMNS, thumb_size=GRID_THUMB_SIZE):
  """image_grid of validation images captioned 'true: x' / 'pred: y 87%', mistakes first.

  Mistakes (red) come before right answers (green), each group in the order given; at most
  max_images are drawn. probabilities, when given, is [N, num_classes]. By default the grid
  fits the width of a TensorBoard image card (CARD_WIDTH), so it is not scaled down there and
  its captions stay readable.
  """
  true_labels = np.asarray(true_labels).reshape(-1)
  predicted_labels = np.asarray(predicted_labels).reshape(-1)
  count = len(true_labels)
  if len(predicted_labels) != count or len(images) != count:
    raise ValueError('got %d images, %d true labels and %d predictions'
                     % (len(images), count, len(predicted_labels)))
  order = sorted(range(count), key=lambda i: true_labels[i] == predicted_labels[i])
  if max_images is not None:
    order = order[:max_images]
  largest_label = int(max(true_labels.max(), predicted_labels.max()))
  names = lettering.class_name_list(class_names, max(len(class_names), largest_label + 1))
  captions, colours = [], []
  for i in order:
    t, p = int(true_labels[i]), int(predicted_labels[i])
    pred = 'pred: %s' % names[p]
    if probabilities is not None:
      pred += ' %d%%' % round(100 * float(np.asarray(probabilities)[i][p]))
    captions.append('true: %s\n%s' % (names[t], pred))
    colours.append(charts.GREEN if t == p else charts.RED)
  return image_grid([images[i] for i in order], captions, colours, columns, thumb_size,
                    font_size=GRID_FONT_SIZE)


# --- the projector's sprite -----------------------------------------------------------------------

def sprite_thumb_size(num_images, thumb_size=64):
  """The thumbnail side sprite_image uses: min(thumb_size, 8192 // ceil(sqrt(N)))."""
  columns = max(1, int(math.ceil(math.sqrt(num_images))))
  return min(int(thumb_size), MAX_SPRITE_SIZE // columns)


def sprite_image(images, thumb_size=64):
  """Square thumbnails of images (centre-cropped) laid out for TensorBoard's projector.

  Args:
    images: uint8 [N, h, w, 3] or a list of images (any sizes; [-1, 1] floats are converted).
    thumb_size: wanted thumbnail side; made smaller when the sprite would pass 8192 pixels.
  Returns:
    (sprite, thumb): a square uint8 [columns * thumb, columns * thumb, 3] with
    columns = ceil(sqrt(N)), images in row-major order, unused cells black; and the thumbnail
    side used (the projector's single_image_dim). Square, because TensorBoard's projector takes
    the number of rows from the sprite's width (tensorboard#670): in a sprite with fewer rows
    than columns it looks for thumbnails in the wrong places and draws some black.
  """
  images = list(images) if not isinstance(images, np.ndarray) else images
  count = len(images)
  if count == 0:
    raise ValueError('sprite_image needs at least one image')
  thumb = sprite_thumb_size(count, thumb_size)
  if thumb < 1:
    raise ValueError('%d images do not fit in a %d pixel sprite' % (count, MAX_SPRITE_SIZE))
  columns = int(math.ceil(math.sqrt(count)))
  sprite = np.zeros((columns * thumb, columns * thumb, 3), np.uint8)
  for i in range(count):
    r, c = divmod(i, columns)
    sprite[r * thumb:(r + 1) * thumb, c * thumb:(c + 1) * thumb] = charts.square_thumbnail(
        images[i], thumb)
  return sprite, thumb
