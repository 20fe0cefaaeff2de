"""Synthetic Flowers: photo-like pictures of the five TF Flowers classes, drawn offline.

`generate(output_dir, images_per_class, seed)` writes output_dir/<class>/<class>_NNNN.jpg, the
same bytes for the same seed (with the same Pillow and numpy). Each picture is drawn with Pillow
from a `random.Random`: a blurred background (grass, foliage, soil, sky, bokeh, plain), distractor
leaves and grass, 1-4 flowers of one class at varied places, sizes, tilts and rotations (some cut
by the border), then colour, brightness, noise and JPEG quality vary per picture. The flower heads
are in datasets/synthetic/flower_heads.py, the drawing helpers in datasets/synthetic/shapes.py.
"""
import functools
import math
import os
import random

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

import base
from datasets.synthetic import flower_heads
from datasets.synthetic.shapes import Frame
from datasets.synthetic.shapes import Painter
from datasets.synthetic.shapes import green
from datasets.synthetic.shapes import hsv
from datasets.synthetic.shapes import jitter_hsv
from datasets.synthetic.shapes import leaf_points
from datasets.synthetic.shapes import mix
from datasets.synthetic.shapes import shade

CLASS_NAMES = ('daisy', 'dandelion', 'roses', 'sunflowers', 'tulips')
MIN_SIDE = 240
MAX_SIDE = 500
MIN_QUALITY = 70
MAX_QUALITY = 95
SUPERSAMPLE = 2
CHUNK = 8  # pictures per task of a worker process (~0.2 s of drawing)


# --- public API -------------------------------------------------------------------------------

def image_filename(class_name, index):
  return '%s_%04d.jpg' % (class_name, index)


def image_rng(seed, class_name, index):
  """The generator of one picture: depends only on (seed, class, index)."""
  return random.Random('synthetic-flowers:%s:%s:%d' % (seed, class_name, index))


def draw_photo(output_dir, seed, class_name, index):
  """Draws picture `index` of `class_name` into output_dir/<class>/ (under a temporary name,
  then renamed); returns its path relative to output_dir."""
  relative = class_name + '/' + image_filename(class_name, index)
  rng = image_rng(seed, class_name, index)
  quality = rng.randint(MIN_QUALITY, MAX_QUALITY)
  image = render_image(class_name, rng)
  with base.atomic_path(os.path.join(output_dir, relative)) as tmp:
    image.save(tmp, format='JPEG', quality=quality)
  return relative


def draw_photos(output_dir, seed, pictures):
  """draw_photo for each (class_name, index) of `pictures` (one chunk of work for a worker
  process); returns their relative paths."""
  return [draw_photo(output_dir, seed, class_name, index) for class_name, index in pictures]


def generate(output_dir, images_per_class, seed=0, progress=None, map_chunks=None):
  """Writes output_dir/<class>/<class>_NNNN.jpg for the five classes; returns relative paths.

  Same seed, same bytes: a picture depends only on (seed, class, index), so drawing them in
  any order or process gives the same files. `progress(done, total)` is called after each
  picture. Each file is written under a temporary name and renamed, so a file that exists is
  complete. map_chunks(fn, chunks): yields fn(chunk) for each chunk, in order (e.g. in worker
  processes: datasets/convert/photos.map_in_workers); default: in this process.
  """
  if isinstance(images_per_class, bool) or not isinstance(images_per_class, int) \
      or images_per_class < 1:
    raise base.UserError(
        'images_per_class must be a whole number >= 1, got %r: pass e.g. 100'
        % (images_per_class,))
  if os.path.exists(output_dir) and not os.path.isdir(output_dir):
    raise base.UserError(
        '%s exists and is not a folder: choose another output folder' % output_dir)
  for class_name in CLASS_NAMES:
    os.makedirs(os.path.join(output_dir, class_name), exist_ok=True)
  pictures = [(class_name, index) for class_name in CLASS_NAMES
              for index in range(images_per_class)]
  chunks = [pictures[i:i + CHUNK] for i in range(0, len(pictures), CHUNK)]
  written = []
  for drawn in (map_chunks or map)(functools.partial(draw_photos, output_dir, seed), chunks):
    for relative in drawn:
      written.append(relative)
      if progress is not None:
        progress(len(written), len(pictures))
  return written


def render_image(class_name, rng):
  """One synthetic photo of `class_name` as an RGB PIL image; `rng` is a random.Random."""
  return render_image_and_mask(class_name, rng)[0]


def render_image_and_mask(class_name, rng):
  """(RGB image, 'L' mask that is 255 where a flower head is visible) for one photo."""
  if class_name not in flower_heads.FLOWERS:
    raise ValueError('unknown class %r: expected one of %s' % (class_name, ', '.join(CLASS_NAMES)))
  if not isinstance(rng, random.Random):
    raise TypeError('rng must be a random.Random, got %s' % type(rng).__name__)
  np_rng = np.random.default_rng(rng.getrandbits(64))
  size = _photo_size(rng)
  image = _background(size, class_name, rng)
  painter = Painter(size, SUPERSAMPLE)
  _draw_scene(painter, class_name, rng)
  image = painter.composite_onto(image)
  image = _photo_finish(image, rng, np_rng)
  return image, painter.mask


# --- stems, leaves, grass, the scene ----------------------------------------------------------

def _draw_stem(painter, top_x, top_y, length, width, color, lean):
  points = []
  for k in range(9):
    along = k / 8.0
    points.append((top_x + lean * length * along * along, top_y + length * along))
  painter.line(points, color, width)


def _draw_leaf(painter, base_x, base_y, length, width, angle, color):
  painter.polygon(leaf_points(base_x, base_y, length, width, angle), color,
                  outline=shade(color, 0.8))
  tip = (base_x + length * 0.85 * math.cos(angle), base_y + length * 0.85 * math.sin(angle))
  painter.line([(base_x, base_y), tip], mix(color, (220, 240, 180), 0.25),
               max(0.6, width * 0.06))


def _draw_grass(painter, rng, count):
  """`count` blades of grass growing from the bottom edge."""
  w, h = painter.size
  for _ in range(count):
    x = rng.uniform(-10, w + 10)
    height = rng.uniform(0.15, 0.6) * h
    lean = rng.uniform(-0.35, 0.35) * height
    base = rng.uniform(1.5, 5.0)
    color = green(rng)
    blade = [(x - base, h + 2), (x + lean * 0.5 - base * 0.5, h - height * 0.55),
             (x + lean, h - height), (x + lean * 0.5 + base * 0.5, h - height * 0.5),
             (x + base, h + 2)]
    painter.polygon(blade, color)


def _flower_frame(class_name, cx, cy, radius, rng):
  """Tulips stand upright, seen from the side; the other heads face the camera, turned and
  tilted."""
  if class_name == 'tulips':
    return Frame(cx, cy, radius, rng.uniform(-0.35, 0.35), 1.0)
  tilt = 1.0 if rng.random() < 0.3 else rng.uniform(0.55, 1.0)
  return Frame(cx, cy, radius, rng.uniform(0, 2 * math.pi), tilt)


def _place_flowers(size, count, rng):
  """[(radius, cx, cy)] of `count` flowers, smallest first (drawn behind the larger ones); about
  one in four sits on a border, partly cut off."""
  w, h = size
  short = min(w, h)
  flowers = []
  for _ in range(count):
    if count == 1:
      radius = short * rng.uniform(0.24, 0.5)
    else:
      radius = short * rng.uniform(0.13, 0.34)
    if rng.random() < 0.25:
      edge = rng.randrange(4)
      inset = rng.uniform(0.0, 0.45) * radius
      cx = rng.uniform(0, w) if edge < 2 else (inset if edge == 2 else w - inset)
      cy = rng.uniform(0, h) if edge >= 2 else (inset if edge == 0 else h - inset)
    else:
      cx = rng.uniform(min(radius * 0.6, w / 2.0), max(w - radius * 0.6, w / 2.0))
      cy = rng.uniform(min(radius * 0.6, h / 2.0), max(h - radius * 0.6, h / 2.0))
    flowers.append((radius, cx, cy))
  flowers.sort()
  return flowers


def _draw_stem_for(painter, class_name, frame, rng):
  """A tulip always has a stem with leaves; the others sometimes show one."""
  radius = frame.radius
  bottom = painter.size[1]
  if class_name == 'tulips':
    x, y = frame.point(0.0, 0.5)
    length = bottom - y + 10
    color = hsv(rng.uniform(0.24, 0.33), rng.uniform(0.45, 0.7), rng.uniform(0.4, 0.65))
    lean = rng.uniform(-0.12, 0.12)
    if length > 0:
      _draw_stem(painter, x, y, length, radius * rng.uniform(0.08, 0.12), color, lean)
      for _ in range(rng.randint(1, 2)):
        leaf_y = y + length * rng.uniform(0.45, 0.8)
        angle = -math.pi / 2 + rng.choice((-1, 1)) * rng.uniform(0.2, 0.6)
        _draw_leaf(painter, x + lean * length * 0.3, leaf_y, radius * rng.uniform(1.6, 2.6),
                   radius * rng.uniform(0.22, 0.32), angle, shade(color, rng.uniform(0.8, 1.1)))
    return
  if rng.random() < 0.55:
    x, y = frame.cx, frame.cy
    width = radius * (0.12 if class_name == 'sunflowers' else 0.05)
    color = hsv(rng.uniform(0.22, 0.33), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.65))
    _draw_stem(painter, x, y, bottom - y + 10, width, color, rng.uniform(-0.2, 0.2))
    if class_name in ('sunflowers', 'roses') and rng.random() < 0.7:
      leaf_y = y + radius * rng.uniform(1.0, 1.6)
      side = rng.choice((-1, 1))
      _draw_leaf(painter, x, leaf_y, radius * rng.uniform(0.8, 1.2),
                 radius * rng.uniform(0.25, 0.4), math.pi / 2 - side * rng.uniform(0.8, 1.3),
                 shade(color, 0.85))


def _draw_scene(painter, class_name, rng):
  """Distractor leaves and grass, the flowers with their stems, grass in front."""
  w, h = painter.size
  short = min(w, h)
  for _ in range(rng.choice((0, 0, 1, 2, 3, 5))):
    _draw_leaf(painter, rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.15, 0.45),
               short * rng.uniform(0.04, 0.1), rng.uniform(0, 2 * math.pi), green(rng))
  if rng.random() < 0.3:
    _draw_grass(painter, rng, rng.randint(5, 25))
  count = rng.choices((1, 2, 3, 4), weights=(45, 25, 18, 12))[0]
  light = rng.uniform(0, 2 * math.pi)
  for radius, cx, cy in _place_flowers((w, h), count, rng):
    frame = _flower_frame(class_name, cx, cy, radius, rng)
    _draw_stem_for(painter, class_name, frame, rng)
    flower_heads.FLOWERS[class_name](painter, frame, rng, light)
  if rng.random() < 0.3:
    _draw_grass(painter, rng, rng.randint(2, 10))
  if rng.random() < 0.15:
    _draw_leaf(painter, rng.choice((0, w)), rng.uniform(0, h), short * rng.uniform(0.2, 0.45),
               short * rng.uniform(0.05, 0.1), rng.uniform(0, 2 * math.pi), green(rng))


# --- background and photo finish --------------------------------------------------------------

def _photo_size(rng):
  long_side = rng.randint(320, MAX_SIDE)
  short_side = max(MIN_SIDE, int(long_side * rng.uniform(0.62, 1.0)))
  return (long_side, short_side) if rng.random() < 0.65 else (short_side, long_side)


def _gradient(size, top, bottom):
  w, h = size
  t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
  top = np.array(top, np.float32)
  bottom = np.array(bottom, np.float32)
  rows = (top * (1.0 - t) + bottom * t).astype(np.uint8)
  return Image.fromarray(np.ascontiguousarray(np.broadcast_to(rows, (h, w, 3))), 'RGB')


def _background_fill(kind, size, rng):
  """The background's colours: a vertical gradient."""
  if kind == 'sky':
    top = jitter_hsv(rng, 0.58, 0.55, 0.8, hue_spread=0.03, saturation_spread=0.2,
                     value_spread=0.15)
    return _gradient(size, top, mix(top, (235, 240, 245), rng.uniform(0.3, 0.7)))
  if kind == 'soil':
    dirt = jitter_hsv(rng, 0.08, 0.5, 0.4, hue_spread=0.03, saturation_spread=0.2,
                      value_spread=0.15)
    return _gradient(size, shade(dirt, 0.8), shade(dirt, 1.15))
  if kind == 'plain':
    tone = hsv(rng.uniform(0, 1), rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.95))
    return _gradient(size, tone, shade(tone, rng.uniform(0.7, 1.2)))
  leaves = green(rng)
  return _gradient(size, shade(leaves, rng.uniform(0.5, 1.1)), shade(leaves, rng.uniform(0.6, 1.2)))


def _background_details(image, kind, rng):
  """Clouds and a horizon, soil crumbs and leaves, grass blades, foliage, or blurred lights."""
  draw = ImageDraw.Draw(image)
  w, h = image.size
  short = min(w, h)
  if kind == 'sky':
    for _ in range(rng.randint(0, 6)):
      cx, cy = rng.uniform(0, w), rng.uniform(0, h * 0.7)
      for _ in range(rng.randint(3, 7)):
        r = short * rng.uniform(0.05, 0.15)
        draw.ellipse((cx + rng.uniform(-2, 2) * r - r, cy + rng.uniform(-0.6, 0.6) * r - r,
                      cx + r, cy + r), fill=shade((245, 245, 248), rng.uniform(0.9, 1.02)))
    if rng.random() < 0.5:
      base_y = h * rng.uniform(0.65, 0.9)
      hills = [(0, h)] + [(x, base_y + rng.uniform(-0.08, 0.08) * h) for x in range(0, w + 12, 12)]
      draw.polygon(hills + [(w, h)], fill=shade(green(rng), 0.7))
  elif kind == 'soil':
    for _ in range(rng.randint(80, 200)):
      x, y, r = rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.005, 0.04)
      draw.ellipse((x - r, y - r * 0.7, x + r, y + r * 0.7),
                   fill=jitter_hsv(rng, 0.08, 0.35, 0.4, hue_spread=0.04, saturation_spread=0.25,
                                   value_spread=0.25))
    for _ in range(rng.randint(0, 8)):
      draw.polygon(leaf_points(rng.uniform(0, w), rng.uniform(0, h),
                               short * rng.uniform(0.1, 0.25), short * 0.04, rng.uniform(0, 6.3)),
                   fill=green(rng))
  elif kind == 'grass':
    for _ in range(rng.randint(60, 160)):
      x, y = rng.uniform(0, w), rng.uniform(0, h * 1.2)
      length = short * rng.uniform(0.1, 0.35)
      draw.line((x, y, x + rng.uniform(-0.3, 0.3) * length, y - length), fill=green(rng),
                width=rng.randint(1, 3))
  elif kind == 'foliage':
    for _ in range(rng.randint(25, 70)):
      draw.polygon(leaf_points(rng.uniform(-10, w), rng.uniform(-10, h),
                               short * rng.uniform(0.1, 0.35), short * rng.uniform(0.03, 0.08),
                               rng.uniform(0, 6.3), points=5),
                   fill=green(rng))
  elif kind == 'bokeh':
    palette = [(255, 255, 240), (255, 230, 120), (240, 150, 190), (190, 160, 230), (255, 140, 120)]
    for _ in range(rng.randint(15, 50)):
      x, y, r = rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.02, 0.1)
      color = green(rng) if rng.random() < 0.75 else rng.choice(palette)
      draw.ellipse((x - r, y - r, x + r, y + r), fill=shade(color, rng.uniform(0.6, 1.1)))


def _background(size, class_name, rng):
  """Drawn at half size, blurred, and scaled up."""
  half = (max(1, size[0] // 2), max(1, size[1] // 2))
  kind = rng.choice(('grass', 'foliage', 'soil', 'sky', 'sky', 'bokeh', 'bokeh', 'plain'))
  image = _background_fill(kind, half, rng)
  _background_details(image, kind, rng)
  if rng.random() < 0.3:
    _draw_background_flowers(image, class_name, rng)
  blur = {'sky': (2, 5), 'soil': (0.3, 1.5), 'grass': (0.8, 3), 'foliage': (1, 4),
          'bokeh': (3, 7), 'plain': (2, 6)}[kind]
  image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
  return image.resize(size, Image.BILINEAR)


def _draw_background_flowers(image, class_name, rng):
  """A few small out-of-focus flowers of the same kind, as in a field."""
  painter = Painter(image.size, 1)
  short = min(image.size)
  light = rng.uniform(0, 2 * math.pi)
  for _ in range(rng.randint(1, 5)):
    frame = _flower_frame(class_name, rng.uniform(0, image.width), rng.uniform(0, image.height),
                          short * rng.uniform(0.05, 0.12), rng)
    flower_heads.FLOWERS[class_name](painter, frame, rng, light)
  image.paste(painter.layer, (0, 0), painter.layer)


def _photo_finish(image, rng, np_rng):
  """Colour balance, brightness, contrast, vignette, sensor noise, sometimes a soft focus."""
  if rng.random() < 0.2:
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.1)))
  arr = np.asarray(image, dtype=np.float32)
  gain = np.array([rng.uniform(0.9, 1.1) for _ in range(3)], np.float32) * rng.uniform(0.78, 1.18)
  contrast = rng.uniform(0.85, 1.15)
  mean = arr.mean()
  arr = (arr - mean) * contrast + mean
  arr *= gain
  h, w = arr.shape[:2]
  if rng.random() < 0.3:
    ys = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    arr *= (1.0 - rng.uniform(0.1, 0.35) * (xs * xs + ys * ys) / 2.0)[:, :, None]
  sigma = rng.uniform(0.0, 6.0)
  if sigma > 0.5:
    arr += np_rng.standard_normal((h, w, 1), dtype=np.float32) * sigma
  return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), 'RGB')
