"""The VAE and GAN families outside TFX: the course's loss, training under a strategy,
generation by seed."""
import numpy as np
import pytest
import tensorflow as tf

from components.ingest.workers.idx_records import read_pairs
from tfxp_contract.dataset_spec import Distribution
from trainers import models, strategies
from trainers.generative import VAE, generate, vae_losses

LAYOUT = {"image": (28, 28, 1)}


def test_vae_loss_is_the_courses_bce_sum_plus_kl():
    images = tf.fill([2, 28, 28, 1], 0.5)
    reconstruction, kl = vae_losses(images, tf.fill([2, 28, 28, 1], 0.5), tf.zeros([2, 3]), tf.zeros([2, 3]))
    assert np.allclose(reconstruction, 784 * np.log(2), rtol=1e-5)  # -[0.5 ln 0.5 + 0.5 ln 0.5] per pixel
    assert np.allclose(kl, 0.0)  # N(0, I) is the prior
    _, kl = vae_losses(images, images, tf.constant([[1.0, 0.0, 2.0]]), tf.constant([[0.0, np.log(2.0), 0.0]]))
    # -1/2 sum(1 + log var - mean^2 - var): dims give 1/2, (ln2... ) and 2
    expected = 0.5 * 1 + (-0.5 * (1 + np.log(2.0) - 2.0)) + 0.5 * 4
    assert np.allclose(kl, [expected], rtol=1e-5)


def _fashion(data_dir, count):
    folder = data_dir / "fashion_mnist"
    pairs = list(read_pairs(str(folder / "train-images-idx3-ubyte.gz"), str(folder / "train-labels-idx1-ubyte.gz"),
                            limit=count))
    images = np.stack([p for _, p, _ in pairs]).astype("float32")[..., None] / 255.0
    return tf.data.Dataset.from_tensor_slices(({"image": images}, np.zeros(count, "int64"))).batch(64)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["none", "mirrored"])
def test_vae_learns_under_a_strategy_and_generates_by_seed(data_dir, strategy):
    tf.keras.utils.set_random_seed(0)
    dist = strategies.make_strategy(Distribution(strategy=strategy), {})
    with dist.scope():
        model = models.build_model("vae", LAYOUT, 10, {"latent_dim": 4})
    history = model.fit(_fashion(data_dir, 512), epochs=4, verbose=0).history
    assert isinstance(model, VAE) and np.all(np.isfinite(history["loss"]))
    assert history["loss"][-1] < history["loss"][0] - 50  # per image, from ~540 (an untrained decoder)
    assert np.allclose(history["loss"], np.add(history["reconstruction"], history["kl"]), rtol=1e-4)
    a, b, c = generate(model, 3, seed=7), generate(model, 3, seed=7), generate(model, 3, seed=8)
    assert a.shape == (3, 28, 28, 1) and np.array_equal(a, b) and not np.array_equal(a, c)
    assert float(tf.reduce_min(a)) >= 0.0 and float(tf.reduce_max(a)) <= 1.0


@pytest.mark.slow
def test_gan_trains_its_two_networks_in_alternation(data_dir):
    tf.keras.utils.set_random_seed(0)
    model = models.build_model("gan", LAYOUT, 10, {"latent_dim": 16, "filters": [16, 32], "discriminator_steps": 2})
    before = [w.numpy().copy() for w in model.generator.trainable_weights[:1] + model.discriminator.trainable_weights[:1]]
    history = model.fit(_fashion(data_dir, 256), epochs=1, verbose=0).history
    after = [w.numpy() for w in model.generator.trainable_weights[:1] + model.discriminator.trainable_weights[:1]]
    assert all(not np.allclose(x, y) for x, y in zip(before, after))  # both networks moved
    assert np.isfinite(history["d_loss"][0]) and np.isfinite(history["g_loss"][0])
    images = generate(model, 5, seed=1)
    assert images.shape == (5, 28, 28, 1)


def test_image_sizes_that_do_not_halve_are_named():
    with pytest.raises(ValueError, match="does not divide by 2\\*\\*3"):
        models.build_model("vae", {"image": (28, 28, 1)}, 10, {"filters": [8, 16, 32]})
