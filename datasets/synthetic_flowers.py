"""Synthetic Flowers: photo-like pictures of the five TF Flowers classes, drawn offline.

`generate(output_dir, images_per_class, seed)` writes output_dir/<class>/<class>_NNNN.jpg, the
same bytes for the same seed (with the same Pillow and numpy). Each picture is drawn with Pillow
from a `random.Random`: a blurred background (grass, foliage, soil, sky, bokeh, plain), distractor
leaves and grass, 1-4 flowers of one class at varied places, sizes, tilts and rotations (some cut
by the border), then colour, brightness, noise and JPEG quality vary per picture.

What tells the classes apart is what tells the real ones apart: daisy = white petals around a
yellow centre; dandelion = a dense ball of thin yellow petals or a white seed puff; roses = a
layered red/pink spiral; sunflowers = big yellow petals around a big dark centre; tulips = a cup of
3-6 broad petals on a green stem. Colours are shared where real ones share them (yellow, pink).
"""
import colorsys
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import base
from datasets import dataset_utils

CLASS_NAMES = ('daisy', 'dandelion', 'roses', 'sunflowers', 'tulips')
MIN_SIDE = 240
MAX_SIDE = 500
MIN_QUALITY = 70
MAX_QUALITY = 95
SUPERSAMPLE = 2
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


# --- public API -------------------------------------------------------------------------------

def image_filename(class_name, index):
  return '%s_%04d.jpg' % (class_name, index)


def image_rng(seed, class_name, index):
  """The generator of one picture: depends only on (seed, class, index)."""
  return random.Random('synthetic-flowers:%s:%s:%d' % (seed, class_name, index))


def generate(output_dir, images_per_class, seed=0, progress=None):
  """Writes output_dir/<class>/<class>_NNNN.jpg for the five classes; returns relative paths.

  Same seed, same bytes. `progress(done, total)` is called after each picture. Each file is
  written under a temporary name and renamed, so a file that exists is complete.
  """
  if isinstance(images_per_class, bool) or not isinstance(images_per_class, int) \
      or images_per_class < 1:
    raise base.UserError(
        'images_per_class must be a whole number >= 1, got %r: pass e.g. 100'
        % (images_per_class,))
  if os.path.exists(output_dir) and not os.path.isdir(output_dir):
    raise base.UserError(
        '%s exists and is not a folder: choose another output folder' % output_dir)
  total = images_per_class * len(CLASS_NAMES)
  written = []
  for class_name in CLASS_NAMES:
    os.makedirs(os.path.join(output_dir, class_name), exist_ok=True)
    for index in range(images_per_class):
      relative = class_name + '/' + image_filename(class_name, index)
      rng = image_rng(seed, class_name, index)
      quality = rng.randint(MIN_QUALITY, MAX_QUALITY)
      image = render_image(class_name, rng)
      with base.atomic_path(os.path.join(output_dir, relative)) as tmp:
        image.save(tmp, format='JPEG', quality=quality)
      written.append(relative)
      if progress is not None:
        progress(len(written), total)
  return written


def render_image(class_name, rng):
  """One synthetic photo of `class_name` as an RGB PIL image; `rng` is a random.Random."""
  return render_image_and_mask(class_name, rng)[0]


def render_image_and_mask(class_name, rng):
  """(RGB image, 'L' mask that is 255 where a flower head is visible) for one photo."""
  if class_name not in _FLOWERS:
    raise ValueError('unknown class %r: expected one of %s' % (class_name, ', '.join(CLASS_NAMES)))
  if not isinstance(rng, random.Random):
    raise TypeError('rng must be a random.Random, got %s' % type(rng).__name__)
  np_rng = np.random.default_rng(rng.getrandbits(64))
  size = _photo_size(rng)
  image = _background(size, class_name, rng)
  painter = _Painter(size, SUPERSAMPLE)
  _draw_scene(painter, class_name, rng)
  image = painter.composite_onto(image)
  image = _photo_finish(image, rng, np_rng)
  return image, painter.mask


# --- colours and shapes -----------------------------------------------------------------------

def _hsv(h, s, v):
  r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
  return (int(r * 255), int(g * 255), int(b * 255))


def _shade(color, factor):
  return tuple(min(255, max(0, int(c * factor))) for c in color[:3])


def _mix(a, b, t):
  return tuple(int(x + (y - x) * t) for x, y in zip(a[:3], b[:3]))


def _jitter_hsv(rng, h, s, v, dh=0.02, ds=0.1, dv=0.1):
  return _hsv(h + rng.uniform(-dh, dh), s + rng.uniform(-ds, ds), v + rng.uniform(-dv, dv))


def _green(rng):
  """A leaf or grass green, from dark to yellowish."""
  return _hsv(rng.uniform(0.2, 0.36), rng.uniform(0.45, 0.85), rng.uniform(0.25, 0.7))


def _ellipse_pts(cx, cy, rx, ry, angle=0.0, n=20):
  c, s = math.cos(angle), math.sin(angle)
  pts = []
  for k in range(n):
    t = 2.0 * math.pi * k / n
    x, y = rx * math.cos(t), ry * math.sin(t)
    pts.append((cx + x * c - y * s, cy + x * s + y * c))
  return pts


def _profile(kind, t):
  if kind == 'round':
    return math.sqrt(max(0.0, 1.0 - (2.0 * t - 1.0) ** 2))
  if kind == 'pointed':
    return math.sin(math.pi * t ** 0.6)
  if kind == 'strap':
    return min(1.0, 6.0 * t) * (1.0 if t < 0.85 else 0.4 + 4.0 * (1.0 - t))
  raise ValueError(kind)


def _petal_pts(angle, r0, r1, half_width, kind='round', bend=0.0, n=8):
  """A petal along direction `angle` from radius r0 to r1 (local units)."""
  c, s = math.cos(angle), math.sin(angle)
  left, right = [], []
  for k in range(n + 1):
    t = k / n
    along = r0 + (r1 - r0) * t
    across = bend * t * t
    w = half_width * _profile(kind, t)
    left.append((along, across + w))
    right.append((along, across - w))
  pts = left + right[::-1]
  return [(x * c - y * s, x * s + y * c) for x, y in pts]


def _leaf_pts(x, y, length, width, angle, n=8):
  """A pointed leaf from its base (x, y) towards `angle`, in pixels."""
  return [(x + px, y + py) for px, py in
          _petal_pts(angle, 0.0, length, width, 'pointed', bend=length * 0.1, n=n)]


class _Frame(object):
  """Maps a flower's local units (radius 1, y down) to pixels: squash y by tilt, rotate, scale."""

  def __init__(self, cx, cy, radius, angle=0.0, tilt=1.0):
    c, s = math.cos(angle), math.sin(angle)
    self.cx, self.cy, self.radius = cx, cy, radius
    self.m = (radius * c, -radius * tilt * s, radius * s, radius * tilt * c)

  def map(self, pts):
    a, b, c, d = self.m
    return [(self.cx + a * u + b * v, self.cy + c * u + d * v) for u, v in pts]

  def point(self, u, v):
    return self.map([(u, v)])[0]


class _Painter(object):
  """Draws the foreground supersampled on RGBA, and the flower-head mask at 1x."""

  def __init__(self, size, supersample):
    self.size = size
    self.ss = supersample
    self.layer = Image.new('RGBA', (size[0] * supersample, size[1] * supersample), (0, 0, 0, 0))
    self.draw = ImageDraw.Draw(self.layer)
    self.mask = Image.new('L', size, 0)
    self.mask_draw = ImageDraw.Draw(self.mask)
    self._saved = None

  def _scaled(self, pts):
    s = self.ss
    return [(x * s, y * s) for x, y in pts]

  def polygon(self, pts, fill, outline=None, head=False):
    self.draw.polygon(self._scaled(pts), fill=fill, outline=outline)
    if self._saved is None:
      self.mask_draw.polygon(pts, fill=255 if head else 0)

  def line(self, pts, fill, width, head=False):
    self.draw.line(self._scaled(pts), fill=fill, width=max(1, int(round(width * self.ss))))
    if self._saved is None:
      self.mask_draw.line(pts, fill=255 if head else 0, width=max(1, int(round(width))))

  def mask_polygon(self, pts, head=True):
    self.mask_draw.polygon(pts, fill=255 if head else 0)

  def begin_translucent(self, box):
    """Draws into a fresh layer over `box` (pixels) until end_translucent blends it in."""
    x0, y0, x1, y1 = [int(v * self.ss) for v in box]
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(self.layer.width, x1 + 1), min(self.layer.height, y1 + 1)
    self._saved = (self.layer, self.draw, (x0, y0, x1, y1))
    self.layer = Image.new('RGBA', self._saved[0].size, (0, 0, 0, 0))
    self.draw = ImageDraw.Draw(self.layer)

  def end_translucent(self):
    layer, draw, box = self._saved
    if box[2] > box[0] and box[3] > box[1]:
      layer.alpha_composite(self.layer.crop(box), dest=box[:2])
    self.layer, self.draw, self._saved = layer, draw, None

  def composite_onto(self, background):
    fg = self.layer.reduce(self.ss) if self.ss > 1 else self.layer
    out = background.convert('RGBA')
    out.alpha_composite(fg)
    return out.convert('RGB')


def _light_factor(angle, light, strength):
  return 1.0 - strength * 0.5 * (1.0 - math.cos(angle - light))


# --- the five flowers (local units: petal tips at radius ~1) ----------------------------------

def _draw_disc_florets(p, f, rng, radius, colors, count):
  dot = radius * rng.uniform(0.06, 0.09) * (120.0 / count) ** 0.5
  for k in range(count):
    r = radius * 0.95 * math.sqrt((k + 0.5) / count)
    a = k * _GOLDEN_ANGLE
    color = colors[rng.randrange(len(colors))]
    p.polygon(f.map(_ellipse_pts(r * math.cos(a), r * math.sin(a), dot, dot, n=6)), color,
              head=True)


def _draw_daisy(p, f, rng, light):
  n = rng.randint(16, 32)
  tint = rng.choice([(250, 250, 250), (255, 251, 238), (246, 248, 255), (255, 255, 255),
                     (255, 253, 246), (250, 240, 244)])
  half_width = rng.uniform(0.55, 0.85) * math.pi * 0.62 / n * (1.0 + 0.5 * (n < 20))
  start = rng.uniform(0, 2 * math.pi)
  if rng.random() < 0.6:
    for i in range(n):
      a = start + (i + 0.5) * 2 * math.pi / n + rng.uniform(-0.1, 0.1)
      color = _shade(tint, 0.78 * _light_factor(a, light, 0.3))
      p.polygon(f.map(_petal_pts(a, 0.1, rng.uniform(0.8, 0.95), half_width, 'round',
                                 bend=rng.uniform(-0.05, 0.05))),
                color, outline=_shade(color, 0.85), head=True)
  for i in range(n):
    a = start + i * 2 * math.pi / n + rng.uniform(-0.08, 0.08)
    color = _shade(tint, rng.uniform(0.9, 1.02) * _light_factor(a, light, 0.3))
    p.polygon(f.map(_petal_pts(a, 0.1, rng.uniform(0.85, 1.0), half_width * rng.uniform(0.85, 1.15),
                               'round', bend=rng.uniform(-0.06, 0.06))),
              color, outline=_shade(color, 0.82), head=True)
  centre = rng.uniform(0.19, 0.3)
  yellow = _jitter_hsv(rng, 0.135, 0.85, 0.9, dh=0.025, ds=0.15)
  p.polygon(f.map(_ellipse_pts(0, 0, centre * 1.08, centre * 1.08)), _shade(yellow, 0.6), head=True)
  p.polygon(f.map(_ellipse_pts(0, 0, centre, centre)), yellow, head=True)
  _draw_disc_florets(p, f, rng, centre,
                     [_shade(yellow, 0.78), _shade(yellow, 0.9), _mix(yellow, (200, 120, 20), 0.3)],
                     rng.randint(40, 90))
  hx, hy = math.cos(light) * centre * 0.35, math.sin(light) * centre * 0.35
  p.polygon(f.map(_ellipse_pts(hx, hy, centre * 0.4, centre * 0.4)),
            _mix(yellow, (255, 255, 200), 0.4), head=True)


def _draw_dandelion(p, f, rng, light):
  if rng.random() < 0.35:
    _draw_dandelion_puff(p, f, rng)
    return
  hue = rng.uniform(0.115, 0.16)
  if rng.random() < 0.6:
    for i in range(rng.randint(8, 14)):
      a = rng.uniform(0, 2 * math.pi)
      p.polygon(f.map(_petal_pts(a, 0.2, rng.uniform(0.75, 0.95), 0.05, 'pointed')),
                _green(rng), head=False)
  p.polygon(f.map(_ellipse_pts(0, 0, 0.62, 0.62, n=20)), _hsv(hue - 0.015, 0.95, 0.78), head=True)
  rings = rng.randint(4, 6)
  for k in range(rings):
    frac = k / float(rings)
    reach = 1.0 - 0.8 * frac
    n = int(rng.uniform(34, 50) * math.sqrt(reach)) + 6
    for i in range(n):
      a = rng.uniform(0, 2 * math.pi)
      color = _hsv(hue - 0.02 * frac + rng.uniform(-0.01, 0.01), rng.uniform(0.8, 1.0),
                   rng.uniform(0.85, 1.0) * (1.0 - 0.12 * frac) * _light_factor(a, light, 0.25))
      p.polygon(f.map(_petal_pts(a, 0.0, reach * rng.uniform(0.88, 1.05),
                                 rng.uniform(0.025, 0.045), 'strap', n=5)),
                color, outline=_shade(color, 0.85), head=True)
  p.polygon(f.map(_ellipse_pts(0, 0, 0.12, 0.12, n=10)), _hsv(hue - 0.03, 0.95, 0.8), head=True)


def _draw_dandelion_puff(p, f, rng):
  r = f.radius
  p.begin_translucent((f.cx - r * 1.1, f.cy - r * 1.1, f.cx + r * 1.1, f.cy + r * 1.1))
  haze = rng.randint(40, 90)
  p.polygon(f.map(_ellipse_pts(0, 0, 0.95, 0.95, n=28)), (238, 238, 230, haze))
  width = max(0.5, r / 90.0)
  for i in range(rng.randint(90, 170)):
    a = rng.uniform(0, 2 * math.pi)
    reach = rng.uniform(0.72, 1.0)
    grey = rng.randint(215, 255)
    tip = (reach * math.cos(a), reach * math.sin(a))
    p.line(f.map([(0.1 * math.cos(a), 0.1 * math.sin(a)), tip]), (grey, grey, grey - 5, 210),
           width)
    tuft = rng.uniform(0.035, 0.06)
    p.polygon(f.map(_ellipse_pts(tip[0], tip[1], tuft, tuft, n=6)), (grey, grey, grey, 150))
  p.polygon(f.map(_ellipse_pts(0, 0, 0.12, 0.12, n=12)), (150, 120, 80, 255))
  p.end_translucent()
  p.mask_polygon(f.map(_ellipse_pts(0, 0, 0.9, 0.9)))


def _rose_color(rng):
  kind = rng.random()
  if kind < 0.5:
    return _hsv(rng.uniform(-0.025, 0.015), rng.uniform(0.75, 0.95), rng.uniform(0.55, 0.9))
  if kind < 0.85:
    return _hsv(rng.uniform(0.92, 0.985), rng.uniform(0.3, 0.65), rng.uniform(0.8, 1.0))
  if kind < 0.95:
    return _hsv(rng.uniform(0.02, 0.06), rng.uniform(0.45, 0.75), rng.uniform(0.85, 1.0))
  return _hsv(rng.uniform(0.86, 0.92), rng.uniform(0.5, 0.8), rng.uniform(0.5, 0.8))


def _crescent_pts(a0, a1, radius, depth, n=10):
  outer, inner = [], []
  for k in range(n + 1):
    t = k / n
    a = a0 + (a1 - a0) * t
    c, s = math.cos(a), math.sin(a)
    outer.append((radius * c, radius * s))
    ri = radius * (1.0 - depth * math.sin(math.pi * t))
    inner.append((ri * c, ri * s))
  return outer + inner[::-1]


def _draw_rose(p, f, rng, light):
  base = _rose_color(rng)
  start = rng.uniform(0, 2 * math.pi)
  guards = rng.randint(5, 7)
  for i in range(guards):
    a = start + i * 2 * math.pi / guards + rng.uniform(-0.2, 0.2)
    color = _shade(base, rng.uniform(0.72, 0.85) * _light_factor(a, light, 0.3))
    p.polygon(f.map(_ellipse_pts(0.45 * math.cos(a), 0.45 * math.sin(a), 0.55, 0.45, a)), color,
              outline=_shade(color, 0.7), head=True)
  radius = rng.uniform(0.78, 0.86)
  angle = start
  layer = 0
  while radius > 0.07:
    p.polygon(f.map(_ellipse_pts(0, 0, radius, radius, n=24)), _shade(base, 0.5), head=True)
    count = 3 if radius > 0.35 else 2
    for j in range(count):
      a0 = angle + j * 2 * math.pi / count
      a1 = a0 + 2 * math.pi / count * rng.uniform(1.0, 1.25)
      lift = 0.8 + 0.25 * min(1.0, layer / 4.0)
      color = _shade(base, lift * rng.uniform(0.92, 1.08) * _light_factor(a0 + 1.0, light, 0.25))
      p.polygon(f.map(_crescent_pts(a0, a1, radius, rng.uniform(0.22, 0.38))), color,
                outline=_mix(color, (255, 255, 255), 0.25), head=True)
    angle += rng.uniform(1.6, 2.6)
    radius *= rng.uniform(0.66, 0.76)
    layer += 1
  spiral = []
  for k in range(16):
    t = k / 15.0
    spiral.append((0.12 * t * math.cos(angle + 4.0 * t), 0.12 * t * math.sin(angle + 4.0 * t)))
  p.line(f.map(spiral), _shade(base, 0.35), f.radius * 0.02, head=True)


def _draw_sunflower(p, f, rng, light):
  centre = rng.uniform(0.34, 0.5)
  petal = _jitter_hsv(rng, 0.125, 0.92, 0.95, dh=0.022, ds=0.08, dv=0.08)
  n = rng.randint(18, 30)
  half_width = rng.uniform(0.8, 1.05) * math.pi * (0.6 + centre) / n
  start = rng.uniform(0, 2 * math.pi)
  for ring, (offset, shade, reach) in enumerate(((0.5, 0.78, 1.0), (0.0, 1.0, 0.92))):
    for i in range(n):
      a = start + (i + offset) * 2 * math.pi / n + rng.uniform(-0.07, 0.07)
      color = _shade(petal, shade * rng.uniform(0.9, 1.05) * _light_factor(a, light, 0.3))
      p.polygon(f.map(_petal_pts(a, centre * 0.8, reach * rng.uniform(0.88, 1.02),
                                 half_width * rng.uniform(0.85, 1.15), 'pointed',
                                 bend=rng.uniform(-0.08, 0.08))),
                color, outline=_shade(color, 0.8), head=True)
  dark = _hsv(rng.uniform(0.05, 0.1), rng.uniform(0.55, 0.85), rng.uniform(0.14, 0.3))
  p.polygon(f.map(_ellipse_pts(0, 0, centre * 1.05, centre * 1.05, n=28)), _mix(dark, petal, 0.25),
            head=True)
  p.polygon(f.map(_ellipse_pts(0, 0, centre, centre, n=28)), dark, head=True)
  _draw_disc_florets(p, f, rng, centre,
                     [_shade(dark, 0.6), _shade(dark, 1.4), _mix(dark, (140, 90, 30), 0.35)],
                     rng.randint(110, 200))
  if rng.random() < 0.5:
    inner = centre * rng.uniform(0.25, 0.45)
    p.polygon(f.map(_ellipse_pts(0, 0, inner, inner)), _mix(dark, (95, 90, 30), 0.5), head=True)


def _tulip_color(rng):
  kind = rng.random()
  if kind < 0.3:
    return _hsv(rng.uniform(-0.02, 0.02), rng.uniform(0.8, 0.95), rng.uniform(0.7, 0.95))
  if kind < 0.52:
    return _hsv(rng.uniform(0.9, 0.97), rng.uniform(0.4, 0.7), rng.uniform(0.8, 1.0))
  if kind < 0.72:
    return _hsv(rng.uniform(0.12, 0.15), rng.uniform(0.75, 0.95), rng.uniform(0.85, 1.0))
  if kind < 0.88:
    return _hsv(rng.uniform(0.75, 0.82), rng.uniform(0.45, 0.75), rng.uniform(0.45, 0.8))
  if kind < 0.96:
    return _hsv(rng.uniform(0.04, 0.08), rng.uniform(0.8, 0.95), rng.uniform(0.85, 1.0))
  return _hsv(rng.uniform(0.1, 0.16), rng.uniform(0.05, 0.15), rng.uniform(0.92, 1.0))


def _tulip_petal_pts(x_top, half_width, height, openness, n=10):
  """A broad petal from the cup's base (0, 0.55) to its tip near (x_top, 0.55 - height)."""
  left, right = [], []
  for k in range(n + 1):
    t = k / n
    y = 0.55 - height * t
    x = x_top * (0.35 + 0.65 * t) + openness * x_top * t * t
    w = half_width * math.sin(math.pi * (0.08 + 0.92 * t)) ** 0.45 * (0.55 + 0.45 * math.sin(
        math.pi * 0.5 * min(1.0, t * 1.6)))
    left.append((x - w, y))
    right.append((x + w, y))
  return left + right[::-1]


def _draw_tulip(p, f, rng, light):
  base = _tulip_color(rng)
  count = rng.randint(3, 6)
  back, front = count // 2, count - count // 2
  openness = rng.uniform(0.0, 0.6)
  height = rng.uniform(1.15, 1.4)
  width = rng.uniform(0.3, 0.38)
  if openness > 0.25:
    p.polygon(f.map(_ellipse_pts(0, 0.55 - height * 0.85, 0.45 + openness * 0.3, 0.18)),
              _shade(base, 0.45), head=True)
  for i in range(back):
    x = (i - (back - 1) / 2.0) * 0.3 + rng.uniform(-0.05, 0.05)
    color = _shade(base, rng.uniform(0.68, 0.8))
    p.polygon(f.map(_tulip_petal_pts(x, width, height * rng.uniform(1.0, 1.08), openness)), color,
              outline=_shade(color, 0.8), head=True)
  for i in range(front):
    x = (i - (front - 1) / 2.0) * 0.42 + rng.uniform(-0.05, 0.05)
    side = 1.0 - 0.15 * abs(x) / 0.42
    color = _shade(base, side * rng.uniform(0.9, 1.05) * _light_factor(math.atan2(-0.5, x), light,
                                                                        0.2))
    pts = _tulip_petal_pts(x, width * rng.uniform(0.95, 1.1), height * rng.uniform(0.9, 1.0),
                           openness)
    p.polygon(f.map(pts), color, outline=_shade(color, 0.75), head=True)
    stripe = _tulip_petal_pts(x, width * 0.35, height * 0.85, openness)
    p.polygon(f.map(stripe), _mix(color, (255, 255, 255), rng.uniform(0.08, 0.2)), head=True)


# --- stems, leaves, grass, the scene ----------------------------------------------------------

def _draw_stem(p, x, y, length, width, color, lean):
  pts = []
  for k in range(9):
    t = k / 8.0
    pts.append((x + lean * length * t * t, y + length * t))
  p.line(pts, color, width)


def _draw_leaf(p, x, y, length, width, angle, color):
  p.polygon(_leaf_pts(x, y, length, width, angle), color, outline=_shade(color, 0.8))
  tip = (x + length * 0.85 * math.cos(angle), y + length * 0.85 * math.sin(angle))
  p.line([(x, y), tip], _mix(color, (220, 240, 180), 0.25), max(0.6, width * 0.06))


def _draw_grass(p, rng, count):
  w, h = p.size
  for i in range(count):
    x = rng.uniform(-10, w + 10)
    height = rng.uniform(0.15, 0.6) * h
    lean = rng.uniform(-0.35, 0.35) * height
    base = rng.uniform(1.5, 5.0)
    color = _green(rng)
    pts = [(x - base, h + 2), (x + lean * 0.5 - base * 0.5, h - height * 0.55),
           (x + lean, h - height), (x + lean * 0.5 + base * 0.5, h - height * 0.5),
           (x + base, h + 2)]
    p.polygon(pts, color)


def _flower_frame(class_name, cx, cy, radius, rng):
  if class_name == 'tulips':
    return _Frame(cx, cy, radius, rng.uniform(-0.35, 0.35), 1.0)
  tilt = 1.0 if rng.random() < 0.3 else rng.uniform(0.55, 1.0)
  return _Frame(cx, cy, radius, rng.uniform(0, 2 * math.pi), tilt)


def _place_flowers(size, count, rng):
  w, h = size
  short = min(w, h)
  flowers = []
  for i in range(count):
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


def _draw_stem_for(p, class_name, frame, rng):
  r = frame.radius
  h = p.size[1]
  if class_name == 'tulips':
    x, y = frame.point(0.0, 0.5)
    length = h - y + 10
    color = _hsv(rng.uniform(0.24, 0.33), rng.uniform(0.45, 0.7), rng.uniform(0.4, 0.65))
    lean = rng.uniform(-0.12, 0.12)
    if length > 0:
      _draw_stem(p, x, y, length, r * rng.uniform(0.08, 0.12), color, lean)
      for k in range(rng.randint(1, 2)):
        ly = y + length * rng.uniform(0.45, 0.8)
        angle = -math.pi / 2 + rng.choice((-1, 1)) * rng.uniform(0.2, 0.6)
        _draw_leaf(p, x + lean * length * 0.3, ly, r * rng.uniform(1.6, 2.6),
                   r * rng.uniform(0.22, 0.32), angle, _shade(color, rng.uniform(0.8, 1.1)))
    return
  if rng.random() < 0.55:
    x, y = frame.cx, frame.cy
    width = r * (0.12 if class_name == 'sunflowers' else 0.05)
    color = _hsv(rng.uniform(0.22, 0.33), rng.uniform(0.4, 0.7), rng.uniform(0.35, 0.65))
    _draw_stem(p, x, y, h - y + 10, width, color, rng.uniform(-0.2, 0.2))
    if class_name in ('sunflowers', 'roses') and rng.random() < 0.7:
      ly = y + r * rng.uniform(1.0, 1.6)
      side = rng.choice((-1, 1))
      _draw_leaf(p, x, ly, r * rng.uniform(0.8, 1.2), r * rng.uniform(0.25, 0.4),
                 math.pi / 2 - side * rng.uniform(0.8, 1.3), _shade(color, 0.85))


_FLOWERS = {
    'daisy': _draw_daisy,
    'dandelion': _draw_dandelion,
    'roses': _draw_rose,
    'sunflowers': _draw_sunflower,
    'tulips': _draw_tulip,
}


def _draw_scene(p, class_name, rng):
  w, h = p.size
  short = min(w, h)
  for i in range(rng.choice((0, 0, 1, 2, 3, 5))):
    _draw_leaf(p, rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.15, 0.45),
               short * rng.uniform(0.04, 0.1), rng.uniform(0, 2 * math.pi), _green(rng))
  if rng.random() < 0.3:
    _draw_grass(p, rng, rng.randint(5, 25))
  count = rng.choices((1, 2, 3, 4), weights=(45, 25, 18, 12))[0]
  light = rng.uniform(0, 2 * math.pi)
  for radius, cx, cy in _place_flowers((w, h), count, rng):
    frame = _flower_frame(class_name, cx, cy, radius, rng)
    _draw_stem_for(p, class_name, frame, rng)
    _FLOWERS[class_name](p, frame, rng, light)
  if rng.random() < 0.3:
    _draw_grass(p, rng, rng.randint(2, 10))
  if rng.random() < 0.15:
    _draw_leaf(p, rng.choice((0, w)), rng.uniform(0, h), short * rng.uniform(0.2, 0.45),
               short * rng.uniform(0.05, 0.1), rng.uniform(0, 2 * math.pi), _green(rng))


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


def _background(size, class_name, rng):
  """Drawn at half size, blurred, and scaled up."""
  w, h = max(1, size[0] // 2), max(1, size[1] // 2)
  kind = rng.choice(('grass', 'foliage', 'soil', 'sky', 'sky', 'bokeh', 'bokeh', 'plain'))
  if kind == 'sky':
    top = _jitter_hsv(rng, 0.58, 0.55, 0.8, dh=0.03, ds=0.2, dv=0.15)
    image = _gradient((w, h), top, _mix(top, (235, 240, 245), rng.uniform(0.3, 0.7)))
  elif kind == 'soil':
    dirt = _jitter_hsv(rng, 0.08, 0.5, 0.4, dh=0.03, ds=0.2, dv=0.15)
    image = _gradient((w, h), _shade(dirt, 0.8), _shade(dirt, 1.15))
  elif kind == 'plain':
    tone = _hsv(rng.uniform(0, 1), rng.uniform(0.0, 0.25), rng.uniform(0.3, 0.95))
    image = _gradient((w, h), tone, _shade(tone, rng.uniform(0.7, 1.2)))
  else:
    green = _green(rng)
    image = _gradient((w, h), _shade(green, rng.uniform(0.5, 1.1)),
                      _shade(green, rng.uniform(0.6, 1.2)))
  draw = ImageDraw.Draw(image)
  short = min(w, h)
  if kind == 'sky':
    for i in range(rng.randint(0, 6)):
      cx, cy = rng.uniform(0, w), rng.uniform(0, h * 0.7)
      for j in range(rng.randint(3, 7)):
        r = short * rng.uniform(0.05, 0.15)
        draw.ellipse((cx + rng.uniform(-2, 2) * r - r, cy + rng.uniform(-0.6, 0.6) * r - r,
                      cx + r, cy + r), fill=_shade((245, 245, 248), rng.uniform(0.9, 1.02)))
    if rng.random() < 0.5:
      base_y = h * rng.uniform(0.65, 0.9)
      pts = [(0, h)] + [(x, base_y + rng.uniform(-0.08, 0.08) * h) for x in range(0, w + 12, 12)]
      draw.polygon(pts + [(w, h)], fill=_shade(_green(rng), 0.7))
  elif kind == 'soil':
    for i in range(rng.randint(80, 200)):
      x, y, r = rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.005, 0.04)
      draw.ellipse((x - r, y - r * 0.7, x + r, y + r * 0.7),
                   fill=_jitter_hsv(rng, 0.08, 0.35, 0.4, dh=0.04, ds=0.25, dv=0.25))
    for i in range(rng.randint(0, 8)):
      draw.polygon(_leaf_pts(rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.1, 0.25),
                             short * 0.04, rng.uniform(0, 6.3)), fill=_green(rng))
  elif kind == 'grass':
    for i in range(rng.randint(60, 160)):
      x, y = rng.uniform(0, w), rng.uniform(0, h * 1.2)
      ln = short * rng.uniform(0.1, 0.35)
      draw.line((x, y, x + rng.uniform(-0.3, 0.3) * ln, y - ln), fill=_green(rng),
                width=rng.randint(1, 3))
  elif kind == 'foliage':
    for i in range(rng.randint(25, 70)):
      draw.polygon(_leaf_pts(rng.uniform(-10, w), rng.uniform(-10, h),
                             short * rng.uniform(0.1, 0.35), short * rng.uniform(0.03, 0.08),
                             rng.uniform(0, 6.3), n=5),
                   fill=_green(rng))
  elif kind == 'bokeh':
    palette = [(255, 255, 240), (255, 230, 120), (240, 150, 190), (190, 160, 230), (255, 140, 120)]
    for i in range(rng.randint(15, 50)):
      x, y, r = rng.uniform(0, w), rng.uniform(0, h), short * rng.uniform(0.02, 0.1)
      color = _green(rng) if rng.random() < 0.75 else rng.choice(palette)
      draw.ellipse((x - r, y - r, x + r, y + r), fill=_shade(color, rng.uniform(0.6, 1.1)))
  if rng.random() < 0.3:
    _draw_background_flowers(image, class_name, rng)
  blur = {'sky': (2, 5), 'soil': (0.3, 1.5), 'grass': (0.8, 3), 'foliage': (1, 4),
          'bokeh': (3, 7), 'plain': (2, 6)}[kind]
  image = image.filter(ImageFilter.GaussianBlur(rng.uniform(*blur)))
  return image.resize(size, Image.BILINEAR)


def _draw_background_flowers(image, class_name, rng):
  """A few small out-of-focus flowers of the same kind, as in a field."""
  p = _Painter(image.size, 1)
  short = min(image.size)
  light = rng.uniform(0, 2 * math.pi)
  for i in range(rng.randint(1, 5)):
    frame = _flower_frame(class_name, rng.uniform(0, image.width), rng.uniform(0, image.height),
                          short * rng.uniform(0.05, 0.12), rng)
    _FLOWERS[class_name](p, frame, rng, light)
  image.paste(p.layer, (0, 0), p.layer)


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
