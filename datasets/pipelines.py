"""The input pipelines' names, without TensorFlow: the --input_pipeline choices (cli reads them
before TensorFlow loads); datasets.input_pipeline builds them."""

PIPELINES = ('queue', 'tf_data')
