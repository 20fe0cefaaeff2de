"""Pictures of what the net does, drawn with numpy and Pillow only (no TensorFlow here): an image
with its prediction, feature-map and filter grids; and the drawing helpers (colour maps,
thumbnails, tiling) that pictures.photo_grids and pictures.confusion (the confusion matrix)
share.

Every picture is a uint8 RGB array [H, W, 3]; the `*_size` functions give that H, W ahead of time
so graph wrappers can set static shapes. Images are uint8, or float in [-1, 1] as inception
preprocessing feeds the net (`to_uint8` turns those back into pixels); callers turn other
preprocessings' images into pixels first (preprocessing_factory.get_pixels_fn).
"""
import functools
import math

import numpy as np
from PIL import Image
from PIL import ImageDraw

from pictures.lettering import class_name_list
from pictures.lettering import fit_text
from pictures.lettering import load_font
from pictures.lettering import text_width

BACKGROUND = (28, 28, 32)
PAD_COLOUR = (60, 60, 66)
TEXT = (236, 236, 236)
MUTED = (150, 150, 158)
BAR = (98, 98, 110)
GREEN = (40, 190, 90)
RED = (230, 56, 56)

# Anchor colours of matplotlib's viridis at 0, 1/8, ..., 1 (interpolated into 256 entries).
_VIRIDIS_ANCHORS = [(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]
# White to dark blue, for counts (like matplotlib's Blues).
_BLUES_ANCHORS = [(247, 251, 255), (198, 219, 239), (107, 174, 214), (33, 113, 181),
                  (8, 48, 107)]
_GRAY_ANCHORS = [(0, 0, 0), (255, 255, 255)]
_COLORMAPS = {'viridis': _VIRIDIS_ANCHORS, 'blues': _BLUES_ANCHORS, 'gray': _GRAY_ANCHORS}


# --- drawing helpers (pictures.photo_grids uses them too) --------------------------------------

@functools.lru_cache(maxsize=None)
def colormap_table(name):
  """A 256x3 uint8 lookup table for 'viridis', 'blues' or 'gray'."""
  if name not in _COLORMAPS:
    raise ValueError('unknown colormap %r; use one of %s' % (name, sorted(_COLORMAPS)))
  anchors = np.array(_COLORMAPS[name], np.float64)
  positions = np.linspace(0.0, 1.0, len(anchors))
  x = np.linspace(0.0, 1.0, 256)
  table = np.stack([np.interp(x, positions, anchors[:, c]) for c in range(3)], axis=1)
  table = np.round(table).astype(np.uint8)
  table.setflags(write=False)
  return table


def apply_colormap(values, name='viridis'):
  """Maps values in [0, 1] (any shape) to uint8 RGB (shape + [3])."""
  index = np.round(np.clip(np.nan_to_num(values), 0.0, 1.0) * 255).astype(np.int64)
  return colormap_table(name)[index]


def to_uint8(image):
  """Undoes the [-1, 1] scaling of preprocessed images: (x + 1) * 127.5, clipped, as uint8.

  uint8 input is returned unchanged. NaN becomes 0."""
  image = np.asarray(image)
  if image.dtype == np.uint8:
    return image
  pixels = (np.nan_to_num(image.astype(np.float64)) + 1.0) * 127.5
  return np.round(np.clip(pixels, 0, 255)).astype(np.uint8)


def _to_rgb(image):
  """[H, W], [H, W, 1] or [H, W, 3] (uint8 or [-1, 1] float) -> uint8 [H, W, 3]."""
  image = to_uint8(image)
  if image.ndim == 2:
    image = image[:, :, None]
  if image.ndim != 3 or image.shape[2] not in (1, 3):
    raise ValueError('expected an image [H, W, 3] (or 1 channel), got shape %s' % (image.shape,))
  if image.shape[2] == 1:
    image = np.repeat(image, 3, axis=2)
  return image


def _resize(image, height, width):
  return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def square_thumbnail(image, size, fit=False):
  """Resizes to size x size: centre crop to a square (or, with fit, pad with BACKGROUND)."""
  image = _to_rgb(image)
  h, w = image.shape[:2]
  if fit:
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = BACKGROUND
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top:top + nh, left:left + nw] = _resize(image, nh, nw)
    return canvas
  side = min(h, w)
  top, left = (h - side) // 2, (w - side) // 2
  crop = image[top:top + side, left:left + side]
  if side == size:
    return crop.copy()
  resample = Image.LANCZOS if side > size else Image.BILINEAR
  return np.asarray(Image.fromarray(crop).resize((size, size), resample))


def grid_shape(count, columns=None):
  """(rows, columns) of a near-square grid for `count` tiles."""
  columns = columns or max(1, int(math.ceil(math.sqrt(count))))
  columns = max(1, min(columns, count)) if count else 1
  rows = max(1, int(math.ceil(count / columns)))
  return rows, columns


def _tile(tiles, rows, columns, pad, pad_colour):
  """Lays equal-size uint8 tiles [N, h, w, 3] out row by row with `pad` pixels around each."""
  n, h, w = tiles.shape[:3]
  out = np.empty((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), np.uint8)
  out[:] = pad_colour
  for i in range(n):
    r, c = divmod(i, columns)
    top, left = pad + r * (h + pad), pad + c * (w + pad)
    out[top:top + h, left:left + w] = tiles[i]
  return out


# --- the net's view with its prediction ---------------------------------------------------------

def _prediction_layout(num_classes, size):
  s = size / 224.0
  font_size = max(9, int(round(12 * s)))
  line = font_size + max(3, int(round(4 * s)))
  margin = max(4, int(round(6 * s)))
  caption = 2 * line + margin
  chart = num_classes * line + margin
  return {'font_size': font_size, 'line': line, 'margin': margin, 'caption': caption,
          'chart': chart, 'border': max(2, int(round(3 * s)))}


def prediction_image_size(num_classes, size=224):
  """(height, width) of prediction_image: width = size, height = size + caption + chart, with
  caption = 2 * line + margin and chart = num_classes * line + margin; at size 224 line = 16 and
  margin = 6, so 224 wide x (268 + 16 * num_classes) tall, e.g. 224 x 348 for 5 classes."""
  layout = _prediction_layout(num_classes, size)
  return size + layout['caption'] + layout['chart'], size


def prediction_image(image, true_label, probabilities, class_names, size=224):
  """The image as the net saw it, with its true and predicted label and all class probabilities.

  Args:
    image: [H, W, 3] float in [-1, 1] (or uint8); resized to size x size.
    true_label: int class id.
    probabilities: [num_classes] softmax output.
    class_names: num_classes names (a dict {id: name} works too).
    size: width of the picture (and side of the photo in it).
  Returns:
    uint8 [H, W, 3] of prediction_image_size(num_classes, size): the photo, a caption band
    ("true: ...", "pred: ... 87.3%" in green when right, red when wrong), a bar per class (the
    predicted bar in that colour, the true class marked with a triangle and brighter name), and a
    frame of the same green or red around everything.
  """
  probabilities = np.nan_to_num(np.asarray(probabilities, np.float64).reshape(-1))
  num_classes = probabilities.size
  names = class_name_list(class_names, num_classes)
  true_label = int(true_label)
  predicted = int(np.argmax(probabilities))
  verdict = GREEN if predicted == true_label else RED
  layout = _prediction_layout(num_classes, size)
  height, width = prediction_image_size(num_classes, size)

  canvas = Image.new('RGB', (width, height), BACKGROUND)
  photo = _to_rgb(image)
  if photo.shape[:2] != (size, size):
    photo = _resize(photo, size, size)
  canvas.paste(Image.fromarray(photo), (0, 0))
  draw = ImageDraw.Draw(canvas)
  true_name = names[true_label] if 0 <= true_label < num_classes else str(true_label)
  _draw_caption(draw, layout, size, true_name, names[predicted], probabilities[predicted],
                verdict)
  _draw_bars(draw, layout, size, names, true_label, probabilities, verdict)
  for i in range(layout['border']):
    draw.rectangle([i, i, width - 1 - i, height - 1 - i], outline=verdict)
  return np.asarray(canvas)


def _draw_caption(draw, layout, size, true_name, predicted_name, probability, verdict):
  """'true: <name>' and, in the verdict's colour, 'pred: <name>  87.3%' under the photo."""
  font = load_font(layout['font_size'])
  x = layout['border'] + layout['margin']
  y = size + layout['margin'] // 2
  room = size - 2 * x
  draw.text((x, y), fit_text(font, 'true: %s' % true_name, room), fill=TEXT, font=font)
  share = '  %.1f%%' % (100.0 * probability)
  pred_text = fit_text(font, 'pred: %s' % predicted_name, room - text_width(font, share))
  draw.text((x, y + layout['line']), pred_text + share, fill=verdict, font=font)


def _draw_bars(draw, layout, size, names, true_label, probabilities, verdict):
  """A bar per class probability; the predicted bar in the verdict's colour, the true class
  marked with a triangle."""
  small = load_font(max(8, layout['font_size'] - 1))
  line, margin, border = layout['line'], layout['margin'], layout['border']
  predicted = int(np.argmax(probabilities))
  width = size
  x = border + margin
  top = size + layout['caption']
  draw.line([(border, top - 1), (width - border - 1, top - 1)], fill=PAD_COLOUR)
  marker = max(4, line // 3)
  name_left = x + marker + 3
  name_width = int(0.34 * width)
  value_width = text_width(small, '100%') + 2
  bar_left = name_left + name_width + 4
  bar_right = width - border - margin - value_width - 4
  bar_height = max(3, line - 6)
  for c in range(len(probabilities)):
    row_top = top + margin // 2 + c * line
    is_true = c == true_label
    if is_true:
      cy = row_top + line // 2
      draw.polygon([(x, cy - marker // 2 - 1), (x, cy + marker // 2 + 1), (x + marker, cy)],
                   fill=TEXT)
    draw.text((name_left, row_top + 1), fit_text(small, names[c], name_width),
              fill=TEXT if is_true or c == predicted else MUTED, font=small)
    p = float(np.clip(probabilities[c], 0.0, 1.0))
    bar_top = row_top + (line - bar_height) // 2
    draw.rectangle([bar_left, bar_top, bar_right, bar_top + bar_height - 1], fill=(44, 44, 50))
    length = int(round(p * (bar_right - bar_left)))
    if length > 0:
      draw.rectangle([bar_left, bar_top, bar_left + length - 1, bar_top + bar_height - 1],
                     fill=verdict if c == predicted else BAR)
    value = '%d%%' % round(100 * p)
    draw.text((width - border - margin - text_width(small, value), row_top + 1), value,
              fill=TEXT if c == predicted else MUTED, font=small)


# --- feature maps and filters -------------------------------------------------------------------

def _upscale_factor(height, width, min_tile):
  return max(1, int(math.ceil(min_tile / max(1, min(height, width)))))


def feature_map_grid_size(height, width, channels, max_channels=None, pad=1, min_tile=24):
  """(H, W) of feature_map_grid: with n = min(channels, max_channels) tiles in
  ceil(sqrt(n)) columns and ceil(n / columns) rows, f = ceil(min_tile / min(height, width)) (at
  least 1), H = rows * (height * f + pad) + pad and W = columns * (width * f + pad) + pad."""
  n = channels if max_channels is None else min(channels, max_channels)
  rows, columns = grid_shape(n)
  f = _upscale_factor(height, width, min_tile)
  return rows * (height * f + pad) + pad, columns * (width * f + pad) + pad


def feature_map_grid(activations, max_channels=None, pad=1, colormap='viridis', min_tile=24):
  """One colour-mapped tile per channel of activations [H, W, C], in a near-square grid.

  Each channel is scaled to its own [min, max] (a constant channel is all 0), then coloured with
  `colormap`; small maps are enlarged by an integer nearest-neighbour factor so tiles are at
  least min_tile pixels. Size: see feature_map_grid_size.
  """
  activations = np.asarray(activations, np.float64)
  if activations.ndim != 3:
    raise ValueError('expected activations [H, W, C], got shape %s' % (activations.shape,))
  if max_channels is not None:
    activations = activations[:, :, :max_channels]
  activations = np.nan_to_num(activations, nan=0.0, posinf=0.0, neginf=0.0)
  h, w, c = activations.shape
  low = activations.min(axis=(0, 1), keepdims=True)
  span = activations.max(axis=(0, 1), keepdims=True) - low
  normalized = np.divide(activations - low, span, out=np.zeros_like(activations),
                         where=span > 0)
  tiles = apply_colormap(np.transpose(normalized, (2, 0, 1)), colormap)  # [C, H, W, 3]
  f = _upscale_factor(h, w, min_tile)
  if f > 1:
    tiles = tiles.repeat(f, axis=1).repeat(f, axis=2)
  rows, columns = grid_shape(c)
  return _tile(tiles, rows, columns, pad, PAD_COLOUR)


def filter_grid_size(kernel_height, kernel_width, num_filters, pad=1, scale=4):
  """(H, W) of filter_grid: tiles of kernel * scale pixels in a near-square grid, as in
  feature_map_grid_size with f = scale."""
  rows, columns = grid_shape(num_filters)
  return (rows * (kernel_height * scale + pad) + pad,
          columns * (kernel_width * scale + pad) + pad)


def filter_grid(weights, pad=1, scale=4):
  """First-layer filters weights [kh, kw, 3 (or 1), C] as a grid of RGB tiles.

  Each filter is stretched by its own min/max over all its weights and colours to [0, 255] (so
  the colours within one filter keep their relations; a constant filter is mid grey), then
  enlarged `scale` times (nearest). Size: see filter_grid_size.
  """
  weights = np.nan_to_num(np.asarray(weights, np.float64))
  if weights.ndim != 4 or weights.shape[2] not in (1, 3):
    raise ValueError('expected filters [kh, kw, 3, C] (or 1 input channel), got shape %s'
                     % (weights.shape,))
  filters = np.transpose(weights, (3, 0, 1, 2))  # [C, kh, kw, in]
  low = filters.min(axis=(1, 2, 3), keepdims=True)
  span = filters.max(axis=(1, 2, 3), keepdims=True) - low
  normalized = np.divide(filters - low, span, out=np.full_like(filters, 0.5), where=span > 0)
  tiles = np.round(normalized * 255).astype(np.uint8)
  if tiles.shape[3] == 1:
    tiles = np.repeat(tiles, 3, axis=3)
  if scale > 1:
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
  rows, columns = grid_shape(tiles.shape[0])
  return _tile(tiles, rows, columns, pad, PAD_COLOUR)

