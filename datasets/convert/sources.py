"""Where the photos come from, up to a converted dataset: the official Flowers download, any
archive (path or URL), a folder of class folders (or of train/ and val/ folders of class
folders: a given split, kept), or synthetic photos drawn from a seed.

download_and_convert describes the source first (so a complete output made from the same photos
is left alone before anything is fetched), then gets the photos under dataset_dir/.work and hands
them to the writer. Nothing here reads flags.
"""
import os
import shutil
import urllib.parse

from absl import logging

import base
from base import UserError
from base import check_no_glob_characters
from datasets import dataset_utils
from datasets import images
from datasets.convert import archive as archive_lib
from datasets.convert import download
from datasets.convert import photos as photos_lib
from datasets.convert import writer
from datasets.synthetic import synthetic_flowers

FLOWERS = 'flowers'
LOCK_FILENAME = '.convert.lock'  # one conversion at a time per dataset_dir
WORK_DIRNAME = '.work'  # Inside dataset_dir: extracted or generated photos while converting.


def _is_remote(location):
  return urllib.parse.urlsplit(location).scheme.lower() in ('http', 'https')


def _check_sources(archive, photos_dir, synthetic, sha256):
  given = [name for name, value in (('--archive', archive), ('--photos_dir', photos_dir),
                                    ('--synthetic', synthetic)) if value]
  if len(given) > 1:
    raise UserError('%s are alternatives: give only one source of photos' % ' and '.join(given))
  if isinstance(synthetic, bool) or not isinstance(synthetic, int) or synthetic < 0:
    raise UserError('--synthetic must be a whole number of photos per class, got %r'
                    % (synthetic,))
  if sha256 and (photos_dir or synthetic):
    raise UserError('--sha256 checks an archive: use it with --archive or the default download')


def _inside(path, folder):
  path, folder = os.path.realpath(path), os.path.realpath(folder)
  return path == folder or path.startswith(folder + os.sep)


def _remove_tree(path):
  if os.path.isdir(path) and not os.path.islink(path):
    shutil.rmtree(path)


def _describe_source(dataset_dir, archive, sha256, photos_dir, synthetic, seed, default_archive):
  """(source dict, local archive path or None) before any download or extraction."""
  if photos_dir:
    return photos_lib.photos_dir_source(photos_dir), None
  if synthetic:
    return {'kind': 'synthetic', 'images_per_class': synthetic, 'seed': seed}, None
  if not archive:
    return {'kind': 'download', 'url': default_archive.url,
            'sha256': (sha256 or default_archive.sha256).lower(),
            'size': None if sha256 else default_archive.size}, None
  if _is_remote(archive):
    return {'kind': 'archive', 'url': archive, 'sha256': sha256 and sha256.lower()}, None
  local = download.fetch(archive, dataset_dir, expected_sha256=sha256)  # Verified in place.
  if os.path.isdir(local):
    return photos_lib.photos_dir_source(local), local
  return {'kind': 'archive', 'location': archive,
          'sha256': sha256.lower() if sha256 else download.sha256_of_file(local)}, local


def _split_method(source, photos_dir, local_archive):
  """'given' or 'stratified' when the photos are at hand (a folder, synthetic), else None."""
  if source['kind'] == 'synthetic':
    return 'stratified'
  if source['kind'] == 'photos_dir':
    return 'given' if photos_lib.given_split(photos_dir or local_archive) else 'stratified'
  return None


def _get_photos(source, dataset_dir, work_dir, photos_dir, local_archive, synthetic, seed,
                num_workers):
  """(the folder of class folders to convert, the archive members refused, the archive this
  call downloaded or None). Fills in the source's sha256 when a download had none to check."""
  if source['kind'] == 'photos_dir':
    return photos_dir or local_archive, [], None
  if source['kind'] == 'synthetic':
    photos = os.path.join(work_dir, 'synthetic')
    logging.info('Drawing %d synthetic photos per class into %s.', synthetic, photos)
    try:
      photos_lib.draw_synthetic(photos, synthetic, seed, num_workers)
    except OSError as e:  # (Pillow's errors name no file: name the folder here)
      raise base.FileSystemError('could not draw the synthetic photos into %s: %s' % (
          photos, e.strerror or e)) from e
    return photos, [], None
  downloaded = None
  if local_archive is None:
    local_archive = downloaded = download.fetch(
        source['url'], dataset_dir, expected_sha256=source['sha256'],
        expected_size=source.get('size'))
    if not source['sha256']:
      source['sha256'] = download.sha256_of_file(downloaded)
  extracted = archive_lib.safe_extract(local_archive, work_dir)
  return extracted.root, extracted.refused, downloaded


def _check_arguments(dataset_dir, archive, sha256, photos_dir, synthetic, dataset_name,
                     num_validation, num_shards, num_workers, max_pixels):
  _check_sources(archive, photos_dir, synthetic, sha256)
  writer.validate_settings(dataset_name, num_shards, max_pixels, num_workers)
  check_no_glob_characters(dataset_dir, 'dataset_dir')  # The readers would refuse it.
  if os.path.exists(dataset_dir) and not os.path.isdir(dataset_dir):
    raise UserError('--dataset_dir %s is a file: give a folder for the dataset' % dataset_dir)
  if photos_dir and not os.path.isdir(photos_dir):
    raise UserError('--photos_dir %s is not a folder: give a folder of class folders'
                    % photos_dir)
  local_archive = archive and not _is_remote(archive) and (
      urllib.parse.urlsplit(archive).path if archive.startswith('file:') else archive)
  emptied = (os.path.join(dataset_dir, WORK_DIRNAME), dataset_utils.staging_dir(dataset_dir))
  for flag, path in (('--photos_dir', photos_dir), ('--archive', local_archive)):
    for folder in emptied:
      if path and _inside(path, folder):
        raise UserError('%s=%s is inside %s, which the conversion empties first: move it out '
                        'of --dataset_dir' % (flag, path, folder))
  if synthetic:
    photos_lib.check_num_validation(num_validation,
                                    synthetic * len(synthetic_flowers.CLASS_NAMES))
    photos_lib.validation_quotas(dict.fromkeys(synthetic_flowers.CLASS_NAMES, synthetic),
                                 num_validation)  # (a UserError when it is too many)
  if not (archive or photos_dir or synthetic) and dataset_name != FLOWERS:
    raise UserError('without --archive, --photos_dir or --synthetic the photos are the Flowers '
                    'archive; --dataset_name=%s would name them %s_*: drop --dataset_name (or '
                    'give your photos with --photos_dir or --archive)' % (dataset_name,
                                                                         dataset_name))


def download_and_convert(dataset_dir, archive=None, sha256=None, photos_dir=None, synthetic=0,
                         dataset_name=FLOWERS, num_validation=350, num_shards=5, seed=0,
                         num_workers=None, overwrite=False, cleanup=True,
                         max_pixels=images.DEFAULT_MAX_PIXELS, flags=None,
                         default_archive=download.FLOWERS):
  """Gets the photos from one source and converts them into dataset_dir; returns the manifest.

  Sources (at most one): archive (path, file://, http(s) URL of a .tgz/.tar/.zip), photos_dir
  (a folder of class folders), synthetic (photos per class, drawn with `seed`); by default the
  official Flowers archive (default_archive: a download.Archive's URL, size and SHA-256) is
  downloaded into dataset_dir and checked against its size and SHA-256 (or `sha256`). Archives
  are extracted, synthetic photos drawn, under dataset_dir/.work; with cleanup that folder and a
  downloaded archive are removed afterwards. Nothing is fetched when dataset_dir is already
  complete with the same settings.
  """
  _check_arguments(dataset_dir, archive, sha256, photos_dir, synthetic, dataset_name,
                   num_validation, num_shards, num_workers, max_pixels)
  source, local_archive = _describe_source(dataset_dir, archive, sha256, photos_dir, synthetic,
                                           seed, default_archive)
  os.makedirs(dataset_dir, exist_ok=True)
  with base.folder_lock(dataset_dir, LOCK_FILENAME, 'a conversion'):
    manifest, why = writer.complete_output(
        dataset_dir, dataset_name, num_shards, num_validation, seed, source, max_pixels,
        overwrite, _split_method(source, photos_dir, local_archive))
    if manifest:
      return manifest

    work_dir = os.path.join(dataset_dir, WORK_DIRNAME)
    _remove_tree(work_dir)
    downloaded = None
    try:
      photos, refused, downloaded = _get_photos(
          source, dataset_dir, work_dir, photos_dir, local_archive, synthetic, seed,
          photos_lib.workers_or_all_cores(num_workers))
      manifest = writer.convert_photos(
          photos, dataset_dir, dataset_name=dataset_name, num_validation=num_validation,
          num_shards=num_shards, seed=seed, num_workers=num_workers, source=source, flags=flags,
          refused_members=refused, max_pixels=max_pixels, reason=why)
    finally:
      if cleanup:
        _remove_tree(work_dir)
    if downloaded and cleanup:
      download.remove_download(downloaded)
      logging.info('Removed the downloaded %s (--nocleanup keeps it).', downloaded)
    elif downloaded or os.path.isdir(work_dir):
      logging.info('Kept %s (--cleanup removes them).',
                   ' and '.join(p for p in (downloaded, work_dir) if p and os.path.exists(p)))
    return manifest
