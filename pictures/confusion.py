"""The confusion matrix as a picture: a heat map of every class pair, every count written."""
import numpy as np
from PIL import Image
from PIL import ImageDraw

from pictures.charts import apply_colormap
from pictures.lettering import class_name_list
from pictures.lettering import fit_text
from pictures.lettering import load_font
from pictures.lettering import text_width


def confusion_matrix_image(matrix, class_names, title='Confusion matrix', font_size=12):
  """A heat map of matrix [C, C] (rows = true class, columns = predicted) with every count written.

  Cells are coloured by their share of the row (recall), so rare and common classes read alike;
  the text is white on dark cells and black on light ones. The title line adds the accuracy and
  the number of examples. The size depends on the names and counts (about 40 px per class plus
  the longest name on two sides).
  """
  matrix = np.asarray(matrix)
  if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
    raise ValueError('expected a square matrix [C, C], got shape %s' % (matrix.shape,))
  matrix = np.nan_to_num(matrix.astype(np.float64))
  num_classes = matrix.shape[0]
  names = class_name_list(class_names, num_classes)
  integral = np.all(matrix == np.round(matrix))
  cell_text = [[('%d' % v) if integral else ('%.2g' % v) for v in row] for row in matrix]

  font, title_font = load_font(font_size), load_font(font_size + 3)
  line = font_size + 5
  margin = 10
  max_name = min(140, max([text_width(font, n) for n in names] + [1]))
  widest = max([text_width(font, t) for row in cell_text for t in row] + [1])
  cell = max(2 * line, widest + 10)

  total = matrix.sum()
  accuracy = np.trace(matrix) / total if total > 0 else 0.0
  subtitle = 'accuracy %.1f%%  (n=%s)  rows: true, columns: predicted' % (
      100 * accuracy, ('%d' % total) if integral else ('%.3g' % total))

  axis_label = line  # rotated "true" on the left, "predicted" on top
  left = margin + axis_label + max_name + 6
  top = margin + (font_size + 8) + line + 6 + axis_label + max_name + 6
  width = max(left + num_classes * cell + margin,
              margin * 2 + text_width(font, subtitle), margin * 2 + text_width(title_font, title))
  height = top + num_classes * cell + margin
  canvas = Image.new('RGB', (width, height), (255, 255, 255))
  draw = ImageDraw.Draw(canvas)
  ink, faint = (20, 20, 20), (110, 110, 110)

  draw.text((margin, margin), title, fill=ink, font=title_font)
  draw.text((margin, margin + font_size + 8), subtitle, fill=faint, font=font)

  grid_w = num_classes * cell
  label_y = top - max_name - 6 - axis_label
  draw.text((left + grid_w // 2 - text_width(font, 'predicted') // 2, label_y), 'predicted',
            fill=faint, font=font)
  _draw_rotated_text(canvas, 'true', (margin, top + grid_w // 2 - text_width(font, 'true') // 2),
                     font, faint, (255, 255, 255), line)

  for i in range(num_classes):
    name = fit_text(font, names[i], max_name)
    y = top + i * cell
    draw.text((left - 6 - text_width(font, name), y + (cell - font_size) // 2 - 1), name,
              fill=ink, font=font)
    x = left + i * cell
    _draw_rotated_text(canvas, name, (x + (cell - line) // 2, top - 6 - text_width(font, name)),
                       font, ink, (255, 255, 255), line)
  _draw_cells(draw, matrix, cell_text, left, top, cell, font, font_size, ink)
  draw.rectangle([left - 1, top - 1, left + grid_w, top + grid_w], outline=(160, 160, 160))
  return np.asarray(canvas)


def _luminance(colour):
  r, g, b = colour[:3]
  return 0.299 * r + 0.587 * g + 0.114 * b


def _draw_cells(draw, matrix, cell_text, left, top, cell, font, font_size, ink):
  """The matrix's cells from (left, top), coloured by their share of the row, text written."""
  row_sums = matrix.sum(axis=1, keepdims=True)
  shares = np.divide(matrix, row_sums, out=np.zeros_like(matrix), where=row_sums > 0)
  colours = apply_colormap(shares, 'blues')
  for i, j in np.ndindex(*matrix.shape):
    x0, y0 = left + j * cell, top + i * cell
    colour = tuple(int(v) for v in colours[i, j])
    draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline=(255, 255, 255))
    text = cell_text[i][j]
    text_colour = (255, 255, 255) if _luminance(colour) < 140 else ink
    draw.text((x0 + (cell - text_width(font, text)) // 2, y0 + (cell - font_size) // 2 - 1),
              text, fill=text_colour, font=font)


def _draw_rotated_text(canvas, text, position, font, fill, background, line):
  """Draws text rotated 90 degrees counter-clockwise (reading bottom to top) at position."""
  strip = Image.new('RGB', (max(1, text_width(font, text)), line), background)
  ImageDraw.Draw(strip).text((0, 0), text, fill=fill, font=font)
  canvas.paste(strip.rotate(90, expand=True), position)
