"""Pictures of what the net does, drawn with numpy and Pillow only (no TensorFlow here):
feature-map and filter grids; and the drawing helpers (colour maps, thumbnails, tiling) that
pictures.photo_grids, pictures.prediction_card and pictures.confusion share.

Every picture is a uint8 RGB array [H, W, 3]; the `*_size` functions give that H, W ahead of time
so graph wrappers can set static shapes. Images are uint8, or float in [-1, 1] as inception
preprocessing feeds the net (`to_uint8` turns those back into pixels); callers turn other
preprocessings' images into pixels first (preprocessing_factory.get_pixels_fn).
"""
import functools
import math

import numpy as np
from PIL import Image

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


def to_rgb(image):
  """[H, W], [H, W, 1] or [H, W, 3] (uint8 or [-1, 1] float) -> uint8 [H, W, 3]."""
  image = to_uint8(image)
  if image.ndim == 2:
    image = image[:, :, None]
  if image.ndim != 3 or image.shape[2] not in (1, 3):
    raise ValueError('expected an image [H, W, 3] (or 1 channel), got shape %s' % (image.shape,))
  if image.shape[2] == 1:
    image = np.repeat(image, 3, axis=2)
  return image


def resize(image, height, width):
  """uint8 [H, W, 3] resized to height x width (bilinear)."""
  return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def square_thumbnail(image, size, fit=False):
  """Resizes to size x size: centre crop to a square (or, with fit, pad with BACKGROUND)."""
  image = to_rgb(image)
  h, w = image.shape[:2]
  if fit:
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = BACKGROUND
    top, left = (size - nh) // 2, (size - nw) // 2
    canvas[top:top + nh, left:left + nw] = resize(image, nh, nw)
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

