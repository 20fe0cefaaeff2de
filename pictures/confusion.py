"""The confusion matrix as a picture, at any number of classes, and the most confused pairs of
classes (which the evaluation's tables list too).

Up to base.LISTED_CLASSES classes the picture is the whole matrix, every count written. Beyond,
a picture of every pair would be too large to show (34,000 px a side at 1,000 classes) and to
read, so it shows the classes a person can act on: those of the most confused pairs, at most
base.LISTED_CLASSES of them, each row with an `other` column for the images predicted as a class
not shown. Its size depends on that limit, not on the number of classes.
"""
import numpy as np
from PIL import Image
from PIL import ImageDraw

import base
from pictures.charts import apply_colormap
from pictures.lettering import class_name_list
from pictures.lettering import fit_text
from pictures.lettering import load_font
from pictures.lettering import text_width

WHITE = (255, 255, 255)
OTHER = 'other'  # the column of a true class's images predicted as a class not shown


def most_confused_pairs(matrix, limit=None):
  """[(true, predicted, count)] of the nonzero cells off the diagonal of matrix [C, C] (rows
  true), the highest counts first; ties: the larger share of the true class's images, then the
  lower class ids. At most `limit` pairs (None: all). Cost: one look at every cell, then a sort
  of the nonzero ones (at most one per image)."""
  matrix = np.asarray(matrix)
  off = matrix.copy()
  np.fill_diagonal(off, 0)
  true, predicted = np.nonzero(off > 0)
  counts = off[true, predicted]
  totals = matrix.sum(axis=1)[true].astype(np.float64)
  order = np.lexsort((predicted, true, -(counts / totals), -counts))
  if limit is not None:
    order = order[:limit]
  return [(int(true[i]), int(predicted[i]), counts[i].item()) for i in order]


def confused_classes(matrix, limit=base.LISTED_CLASSES):
  """The ids of at most `limit` classes of matrix [C, C] to show: every class (in id order) up to
  `limit` classes; beyond, the classes of the most confused pairs in the pairs' order (so the
  most confused pair comes first, side by side), then, when fewer classes than that are
  confused, the lowest ids of the others."""
  num_classes = np.asarray(matrix).shape[0]
  if num_classes <= limit:
    return list(range(num_classes))
  chosen = []
  for true, predicted, _ in most_confused_pairs(matrix):
    for c in (true, predicted):
      if c not in chosen:
        chosen.append(c)
    if len(chosen) >= limit:
      return chosen[:limit]
  others = (c for c in range(num_classes) if c not in set(chosen))
  return chosen + [next(others) for _ in range(limit - len(chosen))]


def shown_cells(matrix, limit=base.LISTED_CLASSES):
  """(the classes confused_classes shows, their cells [N, N + 1]): rows true, columns predicted
  in the same order, and a last column of the row's images predicted as a class not shown."""
  matrix = np.asarray(matrix)
  shown = confused_classes(matrix, limit)
  cells = matrix[np.ix_(shown, shown)]
  other = matrix.sum(axis=1)[shown] - cells.sum(axis=1)
  return shown, np.concatenate([cells, other[:, None]], axis=1)


def confusion_matrix_image(matrix, class_names, title='Confusion matrix', font_size=12,
                           limit=base.LISTED_CLASSES):
  """A heat map of matrix [C, C] (rows = true class, columns = predicted) with every count written.

  Cells are coloured by their share of the row (recall), so rare and common classes read alike;
  the text is white on dark cells and black on light ones. The title line adds the accuracy and
  the number of examples. Up to `limit` classes, every class: the size depends on the names and
  counts (about 40 px per class plus the longest name on two sides). Beyond, the `limit` classes
  of confused_classes, the title saying how many of how many, and a last column `other`: the
  row's images predicted as a class not shown (shares are of the row's whole count); at most
  about 1,000 px a side at the default limit of 20, whatever the number of classes.
  """
  matrix = np.asarray(matrix)
  if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
    raise ValueError('expected a square matrix [C, C], got shape %s' % (matrix.shape,))
  matrix = np.nan_to_num(matrix.astype(np.float64))
  num_classes = matrix.shape[0]
  names = class_name_list(class_names, num_classes)
  integral = np.all(matrix == np.round(matrix))
  total = matrix.sum()
  accuracy = np.trace(matrix) / total if total > 0 else 0.0
  subtitle = 'accuracy %.1f%%  (n=%s)  rows: true, columns: predicted' % (
      100 * accuracy, ('%d' % total) if integral else ('%.3g' % total))
  if num_classes <= limit:
    return _heat_map(matrix, names, names, matrix.sum(axis=1), title, subtitle, integral,
                     font_size)
  shown, cells = shown_cells(matrix, limit)
  row_names = [names[c] for c in shown]
  title = '%s: the %d most confused of %d classes' % (title, len(shown), num_classes)
  return _heat_map(cells, row_names, row_names + [OTHER], matrix.sum(axis=1)[shown], title,
                   subtitle + ', ' + OTHER + ': the classes not shown', integral, font_size)


def _heat_map(matrix, row_names, column_names, row_totals, title, subtitle, integral,
              font_size):
  """The picture of matrix [R, K] (K = R, or R + 1 with a last column `other`): a title, a
  subtitle, rotated column names on top, row names on the left, the cells coloured by their
  share of row_totals [R]."""
  cell_text = [[('%d' % v) if integral else ('%.2g' % v) for v in row] for row in matrix]
  font, title_font = load_font(font_size), load_font(font_size + 3)
  line = font_size + 5
  margin = 10
  max_name = min(140, max([text_width(font, n) for n in column_names] + [1]))
  widest = max([text_width(font, t) for row in cell_text for t in row] + [1])
  cell = max(2 * line, widest + 10)

  axis_label = line  # rotated "true" on the left, "predicted" on top
  left = margin + axis_label + max_name + 6
  top = margin + (font_size + 8) + line + 6 + axis_label + max_name + 6
  grid_w, grid_h = len(column_names) * cell, len(row_names) * cell
  width = max(left + grid_w + margin,
              margin * 2 + text_width(font, subtitle), margin * 2 + text_width(title_font, title))
  height = top + grid_h + margin
  canvas = Image.new('RGB', (width, height), WHITE)
  draw = ImageDraw.Draw(canvas)
  ink, faint = (20, 20, 20), (110, 110, 110)

  draw.text((margin, margin), title, fill=ink, font=title_font)
  draw.text((margin, margin + font_size + 8), subtitle, fill=faint, font=font)

  label_y = top - max_name - 6 - axis_label
  draw.text((left + grid_w // 2 - text_width(font, 'predicted') // 2, label_y), 'predicted',
            fill=faint, font=font)
  _draw_rotated_text(canvas, 'true', (margin, top + grid_h // 2 - text_width(font, 'true') // 2),
                     font, faint, WHITE, line)

  for i, row_name in enumerate(row_names):
    name = fit_text(font, row_name, max_name)
    y = top + i * cell
    draw.text((left - 6 - text_width(font, name), y + (cell - font_size) // 2 - 1), name,
              fill=ink, font=font)
  for j, column_name in enumerate(column_names):
    name = fit_text(font, column_name, max_name)
    x = left + j * cell
    _draw_rotated_text(canvas, name, (x + (cell - line) // 2, top - 6 - text_width(font, name)),
                       font, ink if j < len(row_names) else faint, WHITE, line)
  _draw_cells(draw, matrix, row_totals, cell_text, left, top, cell, font, font_size, ink)
  draw.rectangle([left - 1, top - 1, left + grid_w, top + grid_h], outline=(160, 160, 160))
  return np.asarray(canvas)


def _luminance(colour):
  r, g, b = colour[:3]
  return 0.299 * r + 0.587 * g + 0.114 * b


def _draw_cells(draw, matrix, row_totals, cell_text, left, top, cell, font, font_size, ink):
  """The matrix's cells from (left, top), coloured by their share of the row's total, text
  written."""
  row_totals = np.asarray(row_totals, np.float64)[:, None]
  shares = np.divide(matrix, row_totals, out=np.zeros_like(matrix), where=row_totals > 0)
  colours = apply_colormap(shares, 'blues')
  for i, j in np.ndindex(*matrix.shape):
    x0, y0 = left + j * cell, top + i * cell
    colour = tuple(int(v) for v in colours[i, j])
    draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline=WHITE)
    text = cell_text[i][j]
    text_colour = WHITE if _luminance(colour) < 140 else ink
    draw.text((x0 + (cell - text_width(font, text)) // 2, y0 + (cell - font_size) // 2 - 1),
              text, fill=text_colour, font=font)


def _draw_rotated_text(canvas, text, position, font, fill, background, line):
  """Draws text rotated 90 degrees counter-clockwise (reading bottom to top) at position."""
  strip = Image.new('RGB', (max(1, text_width(font, text)), line), background)
  ImageDraw.Draw(strip).text((0, 0), text, fill=fill, font=font)
  canvas.paste(strip.rotate(90, expand=True), position)
