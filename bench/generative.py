"""The course's generative models through the whole pipeline, full Fashion-MNIST: the VAE and
the GAN, one run each in one benchmark run, judged by the GenerativeEvaluator on 10,000
samples against the 10,000 test images.

Beside the course: its VAE's loss fell from about 313 to 266 per image (its training data; here
the negative ELBO is measured on the held-out test images, same definition: BCE summed over the
784 pixels + KL); its GAN collapsed to one kind of garment (here: the share of samples in each
class, by a classifier). Goals: VAE below 266 within 15 minutes of training; GAN
with every class >= 5% of the samples and a Fréchet distance below the VAE's in the same run.

  python -m bench.generative --data-dir ../shared/datasets
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import yaml

from bench.datasets import component_seconds
from pipelines.local_run import LocalRun
from tfxp_contract.dataset_spec import SPECS_DIR
from tfxp_reports.evaluation_summary import read_generative
from tfxp_reports.outcome import latest_outcome, newest_artifact_uri

RESULTS = Path(__file__).parent / "results"
COURSE_VAE_LOSS = 266.0
SAMPLES = 10_000


def measure(spec_path: str, data_dir: str, output_dir: str, max_examples) -> dict:
    run = LocalRun(dataset=spec_path, data_dir=data_dir, output_dir=output_dir, max_examples=max_examples)
    since = int(time.time() * 1000)
    load_before = os.getloadavg()[0]
    from pipelines.local_runner import build, run_locally  # TensorFlow and TFX: not for --help
    start = time.monotonic()
    run_locally(build(run))
    wall = time.monotonic() - start
    result = read_generative(newest_artifact_uri(run.metadata_path, "ModelEvaluation", run.name))
    with open(os.path.join(newest_artifact_uri(run.metadata_path, "ModelRun", run.name), "training_summary.json")) as f:
        training = json.load(f)
    return {"model": run.name, "measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(since / 1000)),
            "conditions": f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end",
            "blessed": bool(latest_outcome(run.metadata_path, run.name).blessed), "verdict": result["verdict"],
            "metrics": result["metrics"], "classifier": result["classifier"], "samples": result["samples"],
            "class_names": result["class_names"],
            "held_out_images": result["held_out_images"], "wall_seconds": round(wall, 1),
            "trainer_seconds": sum(training["epoch_seconds"]), "epochs": training["epochs"],
            "history": training["history"], "component_seconds": component_seconds(run.metadata_path, since)}


def render(rows: list[dict], cores: int) -> str:
    lines = [f"{cores} CPU cores, no GPU; one run each, in one benchmark run. Held-out: the 10,000 test images; "
             f"{SAMPLES:,} samples per model. Negative ELBO: the course's loss (BCE summed over the 784 pixels + "
             "KL), per held-out image. Fréchet distance: in the 128-wide feature layer of a classifier the "
             "evaluator trains (same seed in both runs). Coverage: the share of samples the classifier puts in "
             "each class.", "",
             "| model | negative ELBO (course: 266) | Fréchet distance | smallest class share | largest | "
             "classifier accuracy | training | whole run | blessed | measured (UTC) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    real = rows[0]["classifier"]["held_out_class_shares"] if rows else []
    for r in rows:
        m = r["metrics"]
        elbo = f"{m['negative_elbo']:.1f}" if "negative_elbo" in m else "-"
        lines.append(f"| {r['model']} | {elbo} | {m['frechet_distance']:.2f} | {m['min_class_share']:.2%} | "
                     f"{max(m['class_shares']):.2%} | {r['classifier']['held_out_accuracy']:.4f} | "
                     f"{r['trainer_seconds'] / 60:.1f} min ({r['epochs']} epochs) | {r['wall_seconds'] / 60:.1f} min | "
                     f"{'yes' if r['blessed'] else 'no'} | {r['measured_utc']} |")
    notes = [f"- {r['model']}: {r['conditions']}; {r['verdict']}" for r in rows]
    names = rows[0]["class_names"] if rows else []
    shares = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names),
              "| held-out images (the classifier's view of real data) | " + " | ".join(f"{s:.1%}" for s in real) + " |"]
    shares += [f"| {r['model']} samples | " + " | ".join(f"{s:.1%}" for s in r["metrics"]["class_shares"]) + " |"
               for r in rows]
    return "\n".join(lines + ["", "Class coverage (share of samples per class):", ""] + shares
                     + ["", "Machine state and verdicts:", ""] + notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("TFXP_DATA_DIR"), help="local mirror of the datasets")
    parser.add_argument("--models", nargs="+", default=["fashion_mnist_vae", "fashion_mnist_gan"])
    parser.add_argument("--max-examples", type=int, default=None, help="a slice per split (a quick check, not a result)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="hyperparameters for every model")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-generative-") as tmp:
        for name in args.models:
            raw = yaml.safe_load((SPECS_DIR / f"{name}.yaml").read_text())
            raw["generative_samples"] = SAMPLES if args.max_examples is None else min(SAMPLES, args.max_examples)
            for pair in args.set:
                key, _, value = pair.partition("=")
                raw["model"]["hyperparameters"][key] = yaml.safe_load(value)
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(yaml.safe_dump(raw))
            print(f"[{name}] whole pipeline ...", flush=True)
            rows.append(measure(str(path), args.data_dir, tmp, args.max_examples))
            print(f"[{name}] {rows[-1]['verdict']}", flush=True)
    text = render(rows, os.cpu_count())
    print(text)
    if args.max_examples is None:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "generative.json").write_text(json.dumps(rows, indent=1))
        (RESULTS / "generative.md").write_text(f"# Generative models\n\n`python -m bench.generative`\n\n{text}\n")


if __name__ == "__main__":
    main()
