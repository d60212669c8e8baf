"""TFX Trainer entry point: build the spec's model, fit it on transformed data, export it."""
from __future__ import annotations

import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs

from pipelines.dataset_spec import spec_from_json
from trainers import data, export, models, train
from trainers.autograph import skip_autograph_for_libraries
import transforms


def run_fn(fn_args: FnArgs) -> None:
    skip_autograph_for_libraries()
    config = fn_args.custom_config
    spec = spec_from_json(config["spec"])
    model_args, batch_size, epochs = train.training_settings(spec.model.hyperparameters, config.get("hyperparameters"))
    keras.utils.set_random_seed(int(config.get("seed", 0)))

    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    feature_spec = tf_transform_output.transformed_feature_spec()
    train_ds = data.make_dataset(fn_args.train_files, feature_spec, batch_size, shuffle=True)
    eval_ds = data.make_dataset(fn_args.eval_files, feature_spec, batch_size, shuffle=False)

    layout = transforms.for_format(spec.format).model_inputs(spec, tf_transform_output.vocabulary_size_by_name)
    model = models.build_model(spec.model.family, layout, spec.num_classes, model_args)
    logging.info("model %s for %s: %d parameters", spec.model.family, spec.name, model.count_params())
    train.fit(model, train_ds, eval_ds, epochs=epochs, log_dir=fn_args.model_run_dir)
    export.export_serving_model(model, tf_transform_output, spec, fn_args.serving_model_dir)

