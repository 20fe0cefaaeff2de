"""Grad-CAM maps (nets.gradcam) laid over photos: blend() colour-maps the heat over the photo
alone (the evaluator's grids); overlay() adds 'label  87.3%' under it (predict --explain,
training's predictions/gradcam image, the evaluator's fixed photos)."""
import numpy as np
from PIL import Image
from PIL import ImageDraw

from pictures import charts
from pictures import lettering

COLORMAP = 'viridis'
MAX_OPACITY = 0.75   # of the colour where the heat is 1; where it is 0 the photo shows as it is


def blend(image, heat):
  """The image with the heat map laid over it, colour-mapped: uint8 [H, W, 3].

  Args:
    image: [H, W, 3] uint8, or float in [-1, 1] as the net saw it.
    heat: [h, w] in [0, 1] (resized to H, W when it differs).
  The colour (viridis) covers the photo in proportion to the heat, up to MAX_OPACITY.
  """
  photo = charts.to_uint8(np.asarray(image)).astype(np.float64)
  height, width = photo.shape[:2]
  heat = np.clip(np.nan_to_num(np.asarray(heat, np.float64)), 0.0, 1.0)
  if heat.shape != (height, width):
    heat = np.asarray(Image.fromarray(heat.astype(np.float32), 'F').resize(
        (width, height), Image.BILINEAR), np.float64)
  colour = charts.apply_colormap(heat, COLORMAP).astype(np.float64)
  opacity = MAX_OPACITY * heat[..., np.newaxis]
  return np.round(photo * (1.0 - opacity) + colour * opacity).astype(np.uint8)


def overlay_height(height, width):
  """The height of overlay()'s picture of an H x W image: H plus its caption."""
  return height + int(_font_size(width) * 1.8)


def _font_size(width):
  return max(11, int(round(width / 16)))


def overlay(image, heat, label, probability, caption_height=None):
  """blend(image, heat) with 'label  87.3%' under it: uint8 [H + caption, W, 3] (of
  overlay_height(H, W) without caption_height)."""
  blended = blend(image, heat)
  height, width = blended.shape[:2]
  font_size = _font_size(width)
  caption_height = caption_height or overlay_height(height, width) - height
  canvas = Image.new('RGB', (width, height + caption_height), charts.BACKGROUND)
  canvas.paste(Image.fromarray(blended), (0, 0))
  font = lettering.load_font(font_size)
  share = '  %.1f%%' % (100.0 * float(probability))
  text = lettering.fit_text(font, str(label), width - 8 - int(font.getlength(share))) + share
  ImageDraw.Draw(canvas).text((4, height + (caption_height - font_size) // 2 - 1), text,
                              fill=charts.TEXT, font=font)
  return np.asarray(canvas)
