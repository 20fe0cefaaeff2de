"""pictures.confusion: the confusion matrix as a picture, every class up to base.LISTED_CLASSES,
beyond that the classes of the most confused pairs, at a size that does not grow with the number
of classes."""
import numpy as np

import base
from pictures import charts
from pictures import confusion
from support.eval_helpers import random_confusion

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


def long_names(num_classes):
  return ['n%08d, a long name of the kind ImageNet has, %s' % (i, 'x' * (i % 50))
          for i in range(num_classes)]


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


def test_up_to_the_listed_classes_every_class_is_drawn_beyond_only_that_many():
  limit = base.LISTED_CLASSES
  every = confusion.confusion_matrix_image(np.eye(limit, dtype=int), TEN * 2)
  beyond = confusion.confusion_matrix_image(np.eye(limit + 1, dtype=int), TEN * 2 + ['x'])
  # Beyond: as many class rows and columns, and one column more, `other`.
  cell = first_cell(every, charts.colormap_table('blues')[255]).shape[1] + 2  # (white lines)
  assert beyond.shape[0] == every.shape[0] and beyond.shape[1] - every.shape[1] == cell


def test_the_picture_of_many_classes_does_not_grow_with_them():
  sizes = set()
  for num_classes in (300, 1000):
    picture = confusion.confusion_matrix_image(random_confusion(num_classes, 1000),
                                               long_names(num_classes), title='step 7')
    assert max(picture.shape[:2]) <= 1200, picture.shape
    sizes.add(picture.shape)
  assert len(sizes) == 1


def test_the_most_confused_pairs_come_first_by_count_then_by_share():
  matrix = np.diag([10] * 6)
  matrix[0, 1] = 3          # 3 of 13 images
  matrix[2, 3] = 3          # 3 of 4 images: the larger share, first among the 3s
  matrix[2, 2] = 1
  matrix[4, 5] = 7
  matrix[5, 4] = 1
  assert confusion.most_confused_pairs(matrix) == [(4, 5, 7), (2, 3, 3), (0, 1, 3), (5, 4, 1)]
  assert confusion.most_confused_pairs(matrix, limit=2) == [(4, 5, 7), (2, 3, 3)]
  assert confusion.most_confused_pairs(np.eye(3, dtype=int)) == []


def test_the_classes_shown_are_those_of_the_most_confused_pairs_side_by_side():
  matrix = np.diag(np.full(500, 4))
  matrix[400, 7] = 9
  matrix[3, 250] = 5
  matrix[7, 400] = 1            # a pair of classes shown already
  shown = confusion.confused_classes(matrix, limit=5)
  assert shown == [400, 7, 3, 250, 0]  # (too few confused classes: then the lowest ids)
  assert confusion.confused_classes(matrix, limit=3) == [400, 7, 3]
  assert confusion.confused_classes(matrix[:5, :5], limit=5) == [0, 1, 2, 3, 4]


def test_each_row_of_many_classes_keeps_its_images_in_the_other_column():
  matrix = random_confusion(200, 3000, seed=3)
  shown, cells = confusion.shown_cells(matrix)
  assert len(shown) == base.LISTED_CLASSES and cells.shape == (len(shown), len(shown) + 1)
  np.testing.assert_array_equal(cells.sum(axis=1), matrix.sum(axis=1)[shown])
  np.testing.assert_array_equal(cells[:, :-1], matrix[np.ix_(shown, shown)])
