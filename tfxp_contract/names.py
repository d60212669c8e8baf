"""Names that more than one stage uses: features, signatures, files inside artifacts.

Each is defined once here; the stage that writes a name and the stages that read it import
it from this module.
"""

# The transformed label: its index in the spec's label values (Transform writes it, the
# Trainer fits on it, TFMA reads it through the transform signature).
LABEL_KEY = "label"

# The served model's signatures and outputs.
SERVING_SIGNATURE = "serving_default"  # serialized raw tf.Examples (no label) -> the outputs below
TRANSFORM_SIGNATURE = "transform_features"  # raw tf.Examples -> transformed features (for TFMA)
# serving_default without the class-name strings, which TFX's BulkInferrer cannot split per row
SCORES_SIGNATURE = "scores"
PROBABILITIES = "probabilities"
PREDICTIONS = "predictions"  # a regression model's output: the predicted number
# An image classifier's: raw image bytes -> features (the layer its class probabilities are read
# from), probabilities, class_names; a generative model's evaluation measures samples with it.
IMAGE_FEATURES_SIGNATURE = "image_features"
# A generative model's (task: generative): generate is also its serving_default.
GENERATE_SIGNATURE = "generate"  # count, seed -> images [count, h, w, c] in [0, 1], png
ENCODE_SIGNATURE = "encode"  # VAE: raw image bytes -> latent_mean
DECODE_SIGNATURE = "decode"  # VAE: latent -> images, png
ELBO_SIGNATURE = "negative_elbo"  # VAE: serialized raw tf.Examples -> negative_elbo per image
CLASS_IDS = "class_ids"
CLASSES = "classes"
# Batch inference on image or text files: each example also holds its file's path (the served
# model parses only its own features, so this one is ignored there and shown beside the scores).
SOURCE_FILE_FEATURE = "source_file"

# Files inside TFX artifacts.
STATISTICS_FILE = "FeatureStats.pb"  # in each Split-<name>/ of an ExampleStatistics artifact
SCHEMA_FILE = "schema.pbtxt"  # in a Schema artifact
ANOMALIES_FILE = "SchemaDiff.pb"  # in each Split-<name>/ of an ExampleAnomalies artifact
TRAINING_SUMMARY_FILE = "training_summary.json"  # in the Trainer's ModelRun artifact
TRIALS_FILE = "trials.json"  # in the Tuner's TunerResults artifact: every trial, its values, score and seconds
SERVED_SOURCE_FILE = "assets.extra/source_model.txt"  # in a served version: the Trainer model it holds
SERVING_CHECK_PROPERTY = "serving_check"
# In a generative model's ModelEvaluation artifact: metrics, checks, verdict (and PNGs beside it).
GENERATIVE_EVALUATION_FILE = "generative_evaluation.json"  # on a PushedModel: "passed: ..." or "failed: ..."
# Written last into a served version on object stores (gs://), where a copy is not atomic.
PUSH_COMPLETE_FILE = "assets.extra/push_complete"

# Every run's report, beside the Evaluator's output.
REPORT_DIR = "report"
REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"
# quiet | normal | verbose: how much a training job prints (tfxp's -q/-v; unset: normal). Read
# when training starts, in the Trainer's process or a worker it started.
VERBOSITY_ENV = "TFXP_VERBOSITY"
