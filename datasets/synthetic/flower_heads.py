"""The five flower heads of the synthetic Flowers, in a flower's local units (petal tips at radius
~1, mapped to pixels by a shapes.Frame). Each draw function takes (painter, frame, rng, light):
light is the angle the light comes from, shared by the flowers of one picture.

What tells the classes apart is what tells the real ones apart: daisy = white petals around a
yellow centre; dandelion = a dense ball of thin yellow petals or a white seed puff; roses = a
layered red/pink spiral; sunflowers = big yellow petals around a big dark centre; tulips = a cup of
3-6 broad petals. Colours are shared where real ones share them (yellow, pink).
"""
import math

from datasets.synthetic.shapes import ellipse_points
from datasets.synthetic.shapes import green
from datasets.synthetic.shapes import hsv
from datasets.synthetic.shapes import jitter_hsv
from datasets.synthetic.shapes import light_factor
from datasets.synthetic.shapes import mix
from datasets.synthetic.shapes import petal_points
from datasets.synthetic.shapes import shade

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))

# Colour kinds of a flower: (cumulative share, hue range, saturation range, value range); the
# last kind takes the rest.
ROSE_COLOURS = (
    (0.5, (-0.025, 0.015), (0.75, 0.95), (0.55, 0.9)),  # red
    (0.85, (0.92, 0.985), (0.3, 0.65), (0.8, 1.0)),  # pink
    (0.95, (0.02, 0.06), (0.45, 0.75), (0.85, 1.0)),  # salmon
    (1.0, (0.86, 0.92), (0.5, 0.8), (0.5, 0.8)),  # magenta
)
TULIP_COLOURS = (
    (0.3, (-0.02, 0.02), (0.8, 0.95), (0.7, 0.95)),  # red
    (0.52, (0.9, 0.97), (0.4, 0.7), (0.8, 1.0)),  # pink
    (0.72, (0.12, 0.15), (0.75, 0.95), (0.85, 1.0)),  # yellow
    (0.88, (0.75, 0.82), (0.45, 0.75), (0.45, 0.8)),  # purple
    (0.96, (0.04, 0.08), (0.8, 0.95), (0.85, 1.0)),  # orange
    (1.0, (0.1, 0.16), (0.05, 0.15), (0.92, 1.0)),  # white
)


def _pick_colour(rng, kinds):
  """A colour of one of the kinds, drawn by their shares."""
  draw = rng.random()
  for share, hue, saturation, value in kinds[:-1]:
    if draw < share:
      break
  else:
    _, hue, saturation, value = kinds[-1]
  return hsv(rng.uniform(*hue), rng.uniform(*saturation), rng.uniform(*value))


def _draw_disc_florets(painter, frame, rng, radius, colors, count):
  """`count` dots in a sunflower spiral filling a disc of `radius`."""
  dot = radius * rng.uniform(0.06, 0.09) * (120.0 / count) ** 0.5
  for k in range(count):
    distance = radius * 0.95 * math.sqrt((k + 0.5) / count)
    angle = k * _GOLDEN_ANGLE
    color = colors[rng.randrange(len(colors))]
    painter.polygon(frame.map(ellipse_points(distance * math.cos(angle),
                                             distance * math.sin(angle), dot, dot, points=6)),
                    color, head=True)


def draw_daisy(painter, frame, rng, light):
  petals = rng.randint(16, 32)
  tint = rng.choice([(250, 250, 250), (255, 251, 238), (246, 248, 255), (255, 255, 255),
                     (255, 253, 246), (250, 240, 244)])
  half_width = rng.uniform(0.55, 0.85) * math.pi * 0.62 / petals * (1.0 + 0.5 * (petals < 20))
  start = rng.uniform(0, 2 * math.pi)
  if rng.random() < 0.6:  # A second, darker ring of petals behind the first.
    for i in range(petals):
      angle = start + (i + 0.5) * 2 * math.pi / petals + rng.uniform(-0.1, 0.1)
      color = shade(tint, 0.78 * light_factor(angle, light, 0.3))
      painter.polygon(frame.map(petal_points(angle, 0.1, rng.uniform(0.8, 0.95), half_width,
                                             'round', bend=rng.uniform(-0.05, 0.05))),
                      color, outline=shade(color, 0.85), head=True)
  for i in range(petals):
    angle = start + i * 2 * math.pi / petals + rng.uniform(-0.08, 0.08)
    color = shade(tint, rng.uniform(0.9, 1.02) * light_factor(angle, light, 0.3))
    painter.polygon(frame.map(petal_points(angle, 0.1, rng.uniform(0.85, 1.0),
                                           half_width * rng.uniform(0.85, 1.15), 'round',
                                           bend=rng.uniform(-0.06, 0.06))),
                    color, outline=shade(color, 0.82), head=True)
  centre = rng.uniform(0.19, 0.3)
  yellow = jitter_hsv(rng, 0.135, 0.85, 0.9, hue_spread=0.025, saturation_spread=0.15)
  painter.polygon(frame.map(ellipse_points(0, 0, centre * 1.08, centre * 1.08)),
                  shade(yellow, 0.6), head=True)
  painter.polygon(frame.map(ellipse_points(0, 0, centre, centre)), yellow, head=True)
  _draw_disc_florets(painter, frame, rng, centre,
                     [shade(yellow, 0.78), shade(yellow, 0.9), mix(yellow, (200, 120, 20), 0.3)],
                     rng.randint(40, 90))
  glint_x, glint_y = math.cos(light) * centre * 0.35, math.sin(light) * centre * 0.35
  painter.polygon(frame.map(ellipse_points(glint_x, glint_y, centre * 0.4, centre * 0.4)),
                  mix(yellow, (255, 255, 200), 0.4), head=True)


def draw_dandelion(painter, frame, rng, light):
  if rng.random() < 0.35:
    _draw_dandelion_puff(painter, frame, rng)
    return
  hue = rng.uniform(0.115, 0.16)
  if rng.random() < 0.6:  # Green bracts showing behind the head.
    for _ in range(rng.randint(8, 14)):
      angle = rng.uniform(0, 2 * math.pi)
      painter.polygon(frame.map(petal_points(angle, 0.2, rng.uniform(0.75, 0.95), 0.05,
                                             'pointed')),
                      green(rng), head=False)
  painter.polygon(frame.map(ellipse_points(0, 0, 0.62, 0.62, points=20)),
                  hsv(hue - 0.015, 0.95, 0.78), head=True)
  rings = rng.randint(4, 6)
  for ring in range(rings):
    depth = ring / float(rings)
    reach = 1.0 - 0.8 * depth
    petals = int(rng.uniform(34, 50) * math.sqrt(reach)) + 6
    for _ in range(petals):
      angle = rng.uniform(0, 2 * math.pi)
      color = hsv(hue - 0.02 * depth + rng.uniform(-0.01, 0.01), rng.uniform(0.8, 1.0),
                  rng.uniform(0.85, 1.0) * (1.0 - 0.12 * depth) * light_factor(angle, light, 0.25))
      painter.polygon(frame.map(petal_points(angle, 0.0, reach * rng.uniform(0.88, 1.05),
                                             rng.uniform(0.025, 0.045), 'strap', points=5)),
                      color, outline=shade(color, 0.85), head=True)
  painter.polygon(frame.map(ellipse_points(0, 0, 0.12, 0.12, points=10)),
                  hsv(hue - 0.03, 0.95, 0.8), head=True)


def _draw_dandelion_puff(painter, frame, rng):
  """A seed head: translucent white haze and rays with tufts."""
  radius = frame.radius
  painter.begin_translucent((frame.cx - radius * 1.1, frame.cy - radius * 1.1,
                             frame.cx + radius * 1.1, frame.cy + radius * 1.1))
  haze = rng.randint(40, 90)
  painter.polygon(frame.map(ellipse_points(0, 0, 0.95, 0.95, points=28)), (238, 238, 230, haze))
  width = max(0.5, radius / 90.0)
  for _ in range(rng.randint(90, 170)):
    angle = rng.uniform(0, 2 * math.pi)
    reach = rng.uniform(0.72, 1.0)
    grey = rng.randint(215, 255)
    tip = (reach * math.cos(angle), reach * math.sin(angle))
    painter.line(frame.map([(0.1 * math.cos(angle), 0.1 * math.sin(angle)), tip]),
                 (grey, grey, grey - 5, 210), width)
    tuft = rng.uniform(0.035, 0.06)
    painter.polygon(frame.map(ellipse_points(tip[0], tip[1], tuft, tuft, points=6)),
                    (grey, grey, grey, 150))
  painter.polygon(frame.map(ellipse_points(0, 0, 0.12, 0.12, points=12)), (150, 120, 80, 255))
  painter.end_translucent()
  painter.mask_polygon(frame.map(ellipse_points(0, 0, 0.9, 0.9)))


def _crescent_points(start_angle, end_angle, radius, depth, points=10):
  """A petal of a rose's spiral: the arc of `radius` between the angles, hollowed by `depth`."""
  outer, inner = [], []
  for k in range(points + 1):
    along = k / points
    angle = start_angle + (end_angle - start_angle) * along
    cos, sin = math.cos(angle), math.sin(angle)
    outer.append((radius * cos, radius * sin))
    inner_radius = radius * (1.0 - depth * math.sin(math.pi * along))
    inner.append((inner_radius * cos, inner_radius * sin))
  return outer + inner[::-1]


def draw_rose(painter, frame, rng, light):
  base = _pick_colour(rng, ROSE_COLOURS)
  start = rng.uniform(0, 2 * math.pi)
  guards = rng.randint(5, 7)
  for i in range(guards):  # The outer (guard) petals.
    angle = start + i * 2 * math.pi / guards + rng.uniform(-0.2, 0.2)
    color = shade(base, rng.uniform(0.72, 0.85) * light_factor(angle, light, 0.3))
    painter.polygon(frame.map(ellipse_points(0.45 * math.cos(angle), 0.45 * math.sin(angle),
                                             0.55, 0.45, angle)),
                    color, outline=shade(color, 0.7), head=True)
  radius = rng.uniform(0.78, 0.86)
  angle = start
  layer = 0
  while radius > 0.07:
    painter.polygon(frame.map(ellipse_points(0, 0, radius, radius, points=24)), shade(base, 0.5),
                    head=True)
    count = 3 if radius > 0.35 else 2
    for j in range(count):
      start_angle = angle + j * 2 * math.pi / count
      end_angle = start_angle + 2 * math.pi / count * rng.uniform(1.0, 1.25)
      lift = 0.8 + 0.25 * min(1.0, layer / 4.0)
      color = shade(base, lift * rng.uniform(0.92, 1.08)
                    * light_factor(start_angle + 1.0, light, 0.25))
      painter.polygon(frame.map(_crescent_points(start_angle, end_angle, radius,
                                                 rng.uniform(0.22, 0.38))),
                      color, outline=mix(color, (255, 255, 255), 0.25), head=True)
    angle += rng.uniform(1.6, 2.6)
    radius *= rng.uniform(0.66, 0.76)
    layer += 1
  spiral = []
  for k in range(16):
    along = k / 15.0
    spiral.append((0.12 * along * math.cos(angle + 4.0 * along),
                   0.12 * along * math.sin(angle + 4.0 * along)))
  painter.line(frame.map(spiral), shade(base, 0.35), frame.radius * 0.02, head=True)


def draw_sunflower(painter, frame, rng, light):
  centre = rng.uniform(0.34, 0.5)
  petal = jitter_hsv(rng, 0.125, 0.92, 0.95, hue_spread=0.022, saturation_spread=0.08,
                     value_spread=0.08)
  petals = rng.randint(18, 30)
  half_width = rng.uniform(0.8, 1.05) * math.pi * (0.6 + centre) / petals
  start = rng.uniform(0, 2 * math.pi)
  for offset, brightness, reach in ((0.5, 0.78, 1.0), (0.0, 1.0, 0.92)):  # Back ring, front.
    for i in range(petals):
      angle = start + (i + offset) * 2 * math.pi / petals + rng.uniform(-0.07, 0.07)
      color = shade(petal, brightness * rng.uniform(0.9, 1.05) * light_factor(angle, light, 0.3))
      painter.polygon(frame.map(petal_points(angle, centre * 0.8, reach * rng.uniform(0.88, 1.02),
                                             half_width * rng.uniform(0.85, 1.15), 'pointed',
                                             bend=rng.uniform(-0.08, 0.08))),
                      color, outline=shade(color, 0.8), head=True)
  dark = hsv(rng.uniform(0.05, 0.1), rng.uniform(0.55, 0.85), rng.uniform(0.14, 0.3))
  painter.polygon(frame.map(ellipse_points(0, 0, centre * 1.05, centre * 1.05, points=28)),
                  mix(dark, petal, 0.25), head=True)
  painter.polygon(frame.map(ellipse_points(0, 0, centre, centre, points=28)), dark, head=True)
  _draw_disc_florets(painter, frame, rng, centre,
                     [shade(dark, 0.6), shade(dark, 1.4), mix(dark, (140, 90, 30), 0.35)],
                     rng.randint(110, 200))
  if rng.random() < 0.5:
    inner = centre * rng.uniform(0.25, 0.45)
    painter.polygon(frame.map(ellipse_points(0, 0, inner, inner)), mix(dark, (95, 90, 30), 0.5),
                    head=True)


def _tulip_petal_points(x_top, half_width, height, openness, points=10):
  """A broad petal from the cup's base (0, 0.55) to its tip near (x_top, 0.55 - height)."""
  left, right = [], []
  for k in range(points + 1):
    along = k / points
    y = 0.55 - height * along
    x = x_top * (0.35 + 0.65 * along) + openness * x_top * along * along
    width = half_width * math.sin(math.pi * (0.08 + 0.92 * along)) ** 0.45 * (
        0.55 + 0.45 * math.sin(math.pi * 0.5 * min(1.0, along * 1.6)))
    left.append((x - width, y))
    right.append((x + width, y))
  return left + right[::-1]


def draw_tulip(painter, frame, rng, light):
  base = _pick_colour(rng, TULIP_COLOURS)
  count = rng.randint(3, 6)
  back, front = count // 2, count - count // 2
  openness = rng.uniform(0.0, 0.6)
  height = rng.uniform(1.15, 1.4)
  width = rng.uniform(0.3, 0.38)
  if openness > 0.25:  # The inside of an open cup.
    painter.polygon(frame.map(ellipse_points(0, 0.55 - height * 0.85, 0.45 + openness * 0.3,
                                             0.18)),
                    shade(base, 0.45), head=True)
  for i in range(back):
    x = (i - (back - 1) / 2.0) * 0.3 + rng.uniform(-0.05, 0.05)
    color = shade(base, rng.uniform(0.68, 0.8))
    painter.polygon(frame.map(_tulip_petal_points(x, width, height * rng.uniform(1.0, 1.08),
                                                  openness)),
                    color, outline=shade(color, 0.8), head=True)
  for i in range(front):
    x = (i - (front - 1) / 2.0) * 0.42 + rng.uniform(-0.05, 0.05)
    side = 1.0 - 0.15 * abs(x) / 0.42
    color = shade(base, side * rng.uniform(0.9, 1.05)
                  * light_factor(math.atan2(-0.5, x), light, 0.2))
    outline = _tulip_petal_points(x, width * rng.uniform(0.95, 1.1),
                                  height * rng.uniform(0.9, 1.0), openness)
    painter.polygon(frame.map(outline), color, outline=shade(color, 0.75), head=True)
    stripe = _tulip_petal_points(x, width * 0.35, height * 0.85, openness)
    painter.polygon(frame.map(stripe), mix(color, (255, 255, 255), rng.uniform(0.08, 0.2)),
                    head=True)


FLOWERS = {
    'daisy': draw_daisy,
    'dandelion': draw_dandelion,
    'roses': draw_rose,
    'sunflowers': draw_sunflower,
    'tulips': draw_tulip,
}
