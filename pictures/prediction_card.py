"""The picture of training's `predictions` image, drawn with numpy and Pillow only: the photo as
the net saw it, its true and predicted class, and a bar chart of the class probabilities.

Up to MAX_BARS classes the chart has a bar for every class, in class order. With more classes it
has the MAX_BARS most probable, most probable first, and one row more: the true class with its
rank when it is not among them, else how many classes are left out and their summed probability.
So the picture's size does not grow with the class count (224 x 364 from 6 classes on).
"""
import numpy as np
from PIL import Image
from PIL import ImageDraw

from pictures import charts
from pictures.lettering import class_name_list
from pictures.lettering import fit_text
from pictures.lettering import load_font
from pictures.lettering import text_width

MAX_BARS = 5


def _chart_rows(num_classes):
  """Rows of the bar chart: a bar per class up to MAX_BARS classes, else MAX_BARS and one more."""
  return num_classes if num_classes <= MAX_BARS else MAX_BARS + 1


def _prediction_layout(num_classes, size):
  s = size / 224.0
  font_size = max(9, int(round(12 * s)))
  line = font_size + max(3, int(round(4 * s)))
  margin = max(4, int(round(6 * s)))
  caption = 2 * line + margin
  chart = _chart_rows(num_classes) * line + margin
  return {'font_size': font_size, 'line': line, 'margin': margin, 'caption': caption,
          'chart': chart, 'border': max(2, int(round(3 * s)))}


def prediction_image_size(num_classes, size=224):
  """(height, width) of prediction_image: width = size, height = size + caption + chart, with
  caption = 2 * line + margin and chart = rows * line + margin, where rows = num_classes up to
  MAX_BARS (5) classes and MAX_BARS + 1 beyond; at size 224 line = 16 and margin = 6, so 224 wide
  x (268 + 16 * rows) tall: 224 x 348 for 5 classes, 224 x 364 for 6 classes or 1,000."""
  layout = _prediction_layout(num_classes, size)
  return size + layout['caption'] + layout['chart'], size


def prediction_image(image, true_label, probabilities, class_names, size=224):
  """The image as the net saw it, with its true and predicted label and the class probabilities.

  Args:
    image: [H, W, 3] float in [-1, 1] (or uint8); resized to size x size.
    true_label: int class id.
    probabilities: [num_classes] softmax output.
    class_names: num_classes names (a dict {id: name} works too).
    size: width of the picture (and side of the photo in it).
  Returns:
    uint8 [H, W, 3] of prediction_image_size(num_classes, size): the photo, a caption band
    ("true: ...", "pred: ... 87.3%" in green when right, red when wrong), the bar chart (the
    predicted bar in that colour, the true class marked with a triangle and brighter name; see
    the module's docstring for more than MAX_BARS classes), and a frame of the same green or red
    around everything.
  """
  probabilities = np.nan_to_num(np.asarray(probabilities, np.float64).reshape(-1))
  num_classes = probabilities.size
  names = class_name_list(class_names, num_classes)
  true_label = int(true_label)
  predicted = int(np.argmax(probabilities))
  verdict = charts.GREEN if predicted == true_label else charts.RED
  layout = _prediction_layout(num_classes, size)
  height, width = prediction_image_size(num_classes, size)

  canvas = Image.new('RGB', (width, height), charts.BACKGROUND)
  photo = charts.to_rgb(image)
  if photo.shape[:2] != (size, size):
    photo = charts.resize(photo, size, size)
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
  draw.text((x, y), fit_text(font, 'true: %s' % true_name, room), fill=charts.TEXT, font=font)
  share = '  %.1f%%' % (100.0 * probability)
  pred_text = fit_text(font, 'pred: %s' % predicted_name, room - text_width(font, share))
  draw.text((x, y + layout['line']), pred_text + share, fill=verdict, font=font)


def _bar_rows(probabilities, true_label):
  """The chart's rows: [(class id, its name's prefix)] and the last row's text when it is no
  class's ('' when there is none). Every class in class order up to MAX_BARS classes; beyond, the
  MAX_BARS most probable (ties by class id), then the true class with its rank ('#37 ') when it
  is not among them, else 'N other classes' with their summed probability."""
  num_classes = probabilities.size
  if num_classes <= MAX_BARS:
    return [(c, '') for c in range(num_classes)], ''
  order = np.argsort(-probabilities, kind='stable')
  rows = [(int(c), '') for c in order[:MAX_BARS]]
  if 0 <= true_label < num_classes and true_label not in order[:MAX_BARS]:
    rank = int(np.flatnonzero(order == true_label)[0]) + 1
    return rows + [(true_label, '#%d ' % rank)], ''
  rest = float(np.clip(probabilities[order[MAX_BARS:]].sum(), 0.0, 1.0))
  return rows, '%d other classes: %s' % (num_classes - MAX_BARS, _percent(rest, fine=True))


def _percent(p, fine):
  """'87%'; with fine (more classes than bars, where most are under 1%) '0.3%', and '100%'."""
  if fine and round(100 * p, 1) < 100:
    return '%.1f%%' % (100 * p)
  return '%d%%' % round(100 * p)


def _draw_bars(draw, layout, size, names, true_label, probabilities, verdict):
  """A bar per row of _bar_rows; the predicted bar in the verdict's colour, the true class
  marked with a triangle."""
  small = load_font(max(8, layout['font_size'] - 1))
  line, margin, border = layout['line'], layout['margin'], layout['border']
  predicted = int(np.argmax(probabilities))
  rows, rest = _bar_rows(probabilities, true_label)
  fine = len(probabilities) > MAX_BARS
  width = size
  x = border + margin
  top = size + layout['caption']
  draw.line([(border, top - 1), (width - border - 1, top - 1)], fill=charts.PAD_COLOUR)
  marker = max(4, line // 3)
  name_left = x + marker + 3
  name_width = int(0.34 * width)
  value_width = max(text_width(small, '100%'), text_width(small, '99.9%') if fine else 0) + 2
  bar_left = name_left + name_width + 4
  bar_right = width - border - margin - value_width - 4
  bar_height = max(3, line - 6)
  for i, (c, prefix) in enumerate(rows):
    row_top = top + margin // 2 + i * line
    is_true = c == true_label
    if prefix:  # the true class, below the most probable ones
      draw.line([(x, row_top), (width - border - margin - 1, row_top)], fill=charts.PAD_COLOUR)
    if is_true:
      cy = row_top + line // 2
      draw.polygon([(x, cy - marker // 2 - 1), (x, cy + marker // 2 + 1), (x + marker, cy)],
                   fill=charts.TEXT)
    draw.text((name_left, row_top + 1), fit_text(small, prefix + names[c], name_width),
              fill=charts.TEXT if is_true or c == predicted else charts.MUTED, font=small)
    p = float(np.clip(probabilities[c], 0.0, 1.0))
    bar_top = row_top + (line - bar_height) // 2
    draw.rectangle([bar_left, bar_top, bar_right, bar_top + bar_height - 1], fill=(44, 44, 50))
    length = int(round(p * (bar_right - bar_left)))
    if length > 0:
      draw.rectangle([bar_left, bar_top, bar_left + length - 1, bar_top + bar_height - 1],
                     fill=verdict if c == predicted else charts.BAR)
    value = _percent(p, fine)
    draw.text((width - border - margin - text_width(small, value), row_top + 1), value,
              fill=charts.TEXT if c == predicted else charts.MUTED, font=small)
  if rest:
    row_top = top + margin // 2 + len(rows) * line
    draw.text((name_left, row_top + 1), fit_text(small, rest, width - name_left - border - margin),
              fill=charts.MUTED, font=small)
