"""Drawing helpers of the synthetic Flowers: colours, outlines (ellipses, petals, leaves), a frame
that places a flower's local units in the picture, and a painter that draws supersampled while
keeping a mask of the flower heads. Pure Pillow (no TensorFlow, no randomness of its own).
"""
import colorsys
import math

from PIL import Image
from PIL import ImageDraw

# --- colours ----------------------------------------------------------------------------------

def hsv(hue, saturation, value):
  """An RGB tuple; hue wraps around, saturation and value are clipped to [0, 1]."""
  rgb = colorsys.hsv_to_rgb(hue % 1.0, min(max(saturation, 0.0), 1.0), min(max(value, 0.0), 1.0))
  return tuple(int(channel * 255) for channel in rgb)


def shade(color, factor):
  return tuple(min(255, max(0, int(channel * factor))) for channel in color[:3])


def mix(color, other, fraction):
  """`color` moved `fraction` of the way towards `other`."""
  return tuple(int(x + (y - x) * fraction) for x, y in zip(color[:3], other[:3]))


def jitter_hsv(rng, hue, saturation, value, hue_spread=0.02, saturation_spread=0.1,
               value_spread=0.1):
  return hsv(hue + rng.uniform(-hue_spread, hue_spread),
             saturation + rng.uniform(-saturation_spread, saturation_spread),
             value + rng.uniform(-value_spread, value_spread))


def green(rng):
  """A leaf or grass green, from dark to yellowish."""
  return hsv(rng.uniform(0.2, 0.36), rng.uniform(0.45, 0.85), rng.uniform(0.25, 0.7))


def light_factor(angle, light, strength):
  """Brightness of a part facing `angle` under a light from `light` (radians)."""
  return 1.0 - strength * 0.5 * (1.0 - math.cos(angle - light))


# --- outlines ---------------------------------------------------------------------------------

def ellipse_points(cx, cy, rx, ry, angle=0.0, points=20):
  """`points` corners of an ellipse of radii (rx, ry) about (cx, cy), turned by `angle`."""
  cos, sin = math.cos(angle), math.sin(angle)
  corners = []
  for k in range(points):
    turn = 2.0 * math.pi * k / points
    x, y = rx * math.cos(turn), ry * math.sin(turn)
    corners.append((cx + x * cos - y * sin, cy + x * sin + y * cos))
  return corners


def _profile(kind, along):
  """A petal's half width (0..1) at `along` (0 at its base, 1 at its tip)."""
  if kind == 'round':
    return math.sqrt(max(0.0, 1.0 - (2.0 * along - 1.0) ** 2))
  if kind == 'pointed':
    return math.sin(math.pi * along ** 0.6)
  if kind == 'strap':
    return min(1.0, 6.0 * along) * (1.0 if along < 0.85 else 0.4 + 4.0 * (1.0 - along))
  raise ValueError(kind)


def petal_points(angle, inner, outer, half_width, kind='round', bend=0.0, points=8):
  """A petal along direction `angle` from radius `inner` to `outer` (local units)."""
  cos, sin = math.cos(angle), math.sin(angle)
  left, right = [], []
  for k in range(points + 1):
    along = k / points
    radial = inner + (outer - inner) * along
    across = bend * along * along
    width = half_width * _profile(kind, along)
    left.append((radial, across + width))
    right.append((radial, across - width))
  return [(x * cos - y * sin, x * sin + y * cos) for x, y in left + right[::-1]]


def leaf_points(base_x, base_y, length, width, angle, points=8):
  """A pointed leaf from its base (base_x, base_y) towards `angle`, in pixels."""
  return [(base_x + x, base_y + y) for x, y in
          petal_points(angle, 0.0, length, width, 'pointed', bend=length * 0.1, points=points)]


# --- frames and the painter -------------------------------------------------------------------

class Frame(object):
  """Maps a flower's local units (radius 1, y down) to pixels: squash y by tilt, rotate, scale."""

  def __init__(self, cx, cy, radius, angle=0.0, tilt=1.0):
    cos, sin = math.cos(angle), math.sin(angle)
    self.cx, self.cy, self.radius = cx, cy, radius
    self.matrix = (radius * cos, -radius * tilt * sin, radius * sin, radius * tilt * cos)

  def map(self, local_points):
    a, b, c, d = self.matrix
    return [(self.cx + a * x + b * y, self.cy + c * x + d * y) for x, y in local_points]

  def point(self, local_x, local_y):
    return self.map([(local_x, local_y)])[0]


class Painter(object):
  """Draws the foreground supersampled on RGBA, and the flower-head mask at 1x."""

  def __init__(self, size, supersample):
    self.size = size
    self.supersample = supersample
    self.layer = Image.new('RGBA', (size[0] * supersample, size[1] * supersample), (0, 0, 0, 0))
    self.draw = ImageDraw.Draw(self.layer)
    self.mask = Image.new('L', size, 0)
    self.mask_draw = ImageDraw.Draw(self.mask)
    self._saved = None

  def _scaled(self, points):
    return [(x * self.supersample, y * self.supersample) for x, y in points]

  def polygon(self, points, fill, outline=None, head=False):
    self.draw.polygon(self._scaled(points), fill=fill, outline=outline)
    if self._saved is None:
      self.mask_draw.polygon(points, fill=255 if head else 0)

  def line(self, points, fill, width, head=False):
    self.draw.line(self._scaled(points), fill=fill,
                   width=max(1, int(round(width * self.supersample))))
    if self._saved is None:
      self.mask_draw.line(points, fill=255 if head else 0, width=max(1, int(round(width))))

  def mask_polygon(self, points, head=True):
    self.mask_draw.polygon(points, fill=255 if head else 0)

  def begin_translucent(self, box):
    """Draws into a fresh layer over `box` (pixels) until end_translucent blends it in."""
    left, top, right, bottom = [int(v * self.supersample) for v in box]
    left, top = max(0, left), max(0, top)
    right, bottom = min(self.layer.width, right + 1), min(self.layer.height, bottom + 1)
    self._saved = (self.layer, self.draw, (left, top, right, bottom))
    self.layer = Image.new('RGBA', self._saved[0].size, (0, 0, 0, 0))
    self.draw = ImageDraw.Draw(self.layer)

  def end_translucent(self):
    layer, draw, box = self._saved
    if box[2] > box[0] and box[3] > box[1]:
      layer.alpha_composite(self.layer.crop(box), dest=box[:2])
    self.layer, self.draw, self._saved = layer, draw, None

  def composite_onto(self, background):
    foreground = self.layer.reduce(self.supersample) if self.supersample > 1 else self.layer
    out = background.convert('RGBA')
    out.alpha_composite(foreground)
    return out.convert('RGB')
