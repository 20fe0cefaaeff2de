"""pictures.confusion: the confusion matrix as a picture."""
import numpy as np

from pictures import charts
from pictures import confusion

FIVE = ['daisy', 'dandelion', 'roses', 'sunflowers', 'tulips']
TEN = ['class_%d' % i for i in range(10)]


def first_cell(picture, colour):
  """The pixels of the top-left-most solid block of `colour` (one cell of the heat map)."""
  mask = np.all(picture == colour, axis=2)
  ys, xs = np.nonzero(mask)
  top, left = ys.min(), xs[ys == ys.min()].min()
  bottom, right = top, left
  while bottom + 1 < mask.shape[0] and mask[bottom + 1, left]:
    bottom += 1
  while right + 1 < mask.shape[1] and mask[top, right + 1]:
    right += 1
  return picture[top:bottom + 1, left:right + 1].astype(int)


def test_confusion_matrix_image_writes_light_text_on_dark_cells_and_dark_on_light():
  picture = confusion.confusion_matrix_image(np.array([[50, 0], [0, 50]]), ['a', 'b'])
  blues = charts.colormap_table('blues')
  weights = np.array([0.299, 0.587, 0.114])
  dark_cell, light_cell = first_cell(picture, blues[255]), first_cell(picture, blues[0])
  assert dark_cell.shape[0] > 20 and light_cell.shape[0] > 20
  assert (dark_cell @ weights).max() > 200  # the white '50'
  assert (light_cell @ weights).min() < 80  # the black '0'


def test_confusion_matrix_image_grows_with_the_number_of_classes():
  small = confusion.confusion_matrix_image(np.eye(5, dtype=int) * 3, FIVE)
  large = confusion.confusion_matrix_image(np.eye(10, dtype=int) * 3, TEN)
  assert small.dtype == np.uint8 and small.shape[2] == 3
  assert large.shape[0] > small.shape[0] and large.shape[1] > small.shape[1]


def test_confusion_matrix_image_of_zeros_draws():
  picture = confusion.confusion_matrix_image(np.zeros((3, 3), int), ['a', 'b', 'c'])
  assert picture.dtype == np.uint8
